// The waiting room's screen: each call, as it happens, from the office's server-sent events;
// the queues' waits refreshed after each event. Without script the page shows the calls as they
// were when it was loaded.
const board = document.querySelector('[data-module="onedoor-display"]');
if (board) {
  const list = board.querySelector('.onedoor-display__called');
  const empty = board.querySelector('.onedoor-display__empty');
  const kShown = 6;

  const refreshQueues = async () => {
    try {
      const r = await fetch(board.dataset.queuesUrl, { headers: { Accept: 'application/json' } });
      if (!r.ok) return;
      const { items } = await r.json();
      for (const q of items) {
        const row = board.querySelector(`[data-queue="${q.id}"]`);
        if (!row) continue;
        row.querySelector('[data-field="waiting"]').textContent = String(q.waiting);
        row.querySelector('[data-field="estimate"]').textContent =
          q.waiting === 0 ? 'no wait' : `about ${q.estimated_minutes} min`;
      }
    } catch {
      // The next event tries again.
    }
  };

  const show = (label, counter) => {
    for (const li of list.querySelectorAll('li')) {
      if (li.querySelector('.onedoor-display__label').textContent === label) li.remove();
    }
    const li = document.createElement('li');
    li.className = 'govuk-heading-l govuk-!-margin-bottom-4 onedoor-display__new';
    const strong = document.createElement('span');
    strong.className = 'onedoor-display__label';
    strong.textContent = label;
    li.append(strong, ` to ${counter}`);
    list.prepend(li);
    while (list.children.length > kShown) list.lastElementChild.remove();
    if (empty) empty.hidden = true;
  };

  const remove = (label) => {
    for (const li of list.querySelectorAll('li')) {
      if (li.querySelector('.onedoor-display__label').textContent === label) li.remove();
    }
    if (empty) empty.hidden = list.children.length > 0;
  };

  const url = new URL(board.dataset.eventsUrl, window.location.href);
  url.searchParams.set('after', board.dataset.lastEvent);
  const source = new EventSource(url);
  // A browser does not retry a refused stream (the server busy): load the page again in a while.
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) setTimeout(() => window.location.reload(), 30_000);
  });
  source.addEventListener('queue', (e) => {
    const event = JSON.parse(e.data);
    if (event.action === 'called' || event.action === 'recalled') show(event.label, event.counter);
    if (event.action === 'done' || event.action === 'no_show' || event.action === 'transferred') remove(event.label);
    board.dataset.state = `${event.action} ${event.label}`;
    refreshQueues();
  });
}
