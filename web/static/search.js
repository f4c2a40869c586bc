// Finding a client as you type: once the name has 3 characters (or the date of birth is
// complete, or an identity number has 6), the results under the form follow what is typed,
// after a short pause, without pressing Search. The results come from the same page the Search button opens, so the search
// is the server's, gated and audited like any other; the address bar follows, so that Back and
// a shared link show the same results. Without script the form works as before.
const form = document.querySelector('[data-module="onedoor-live-search"]');
const results = document.getElementById('client-results');
if (form && results) {
  const kPauseMs = 350;
  let timer = null;
  let latest = 0;

  const ready = () => {
    const q = form.elements.q.value.trim();
    const dob = ['dob_day', 'dob_month', 'dob_year'].map((n) => form.elements[n].value.trim());
    const identifier = form.elements.identifier?.value.trim() ?? '';
    return q.length >= 3 || (dob.every((v) => v !== '') && dob[2].length === 4) || identifier.length >= 6;
  };

  const search = async () => {
    if (!ready()) return;
    const query = new URLSearchParams(new FormData(form)).toString();
    const url = `${form.action}?${query}`;
    const mine = ++latest;
    results.setAttribute('aria-busy', 'true');
    try {
      const r = await fetch(url, { headers: { Accept: 'text/html' }, credentials: 'same-origin' });
      if (!r.ok || mine !== latest) return;
      const page = new DOMParser().parseFromString(await r.text(), 'text/html');
      const fresh = page.getElementById('client-results');
      if (!fresh || mine !== latest) return;
      results.innerHTML = fresh.innerHTML;
      history.replaceState(null, '', url);
    } catch {
      // Searching by the button still works.
    } finally {
      if (mine === latest) results.removeAttribute('aria-busy');
    }
  };

  form.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(search, kPauseMs);
  });
}
