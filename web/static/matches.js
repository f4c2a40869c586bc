// Duplicate warnings as a client is registered: once the family name and the given name (or a
// full date of birth), or a national identity number, are typed, the likely matches already in the registry appear above the
// form, after a short pause, before the rest is filled in. They come from the same page with
// `check=1`, so the match is the server's, gated and audited like any other. Without script the
// matches are shown when the form is sent, as before.
const form = document.querySelector('[data-module="onedoor-match-as-you-type"]');
const region = document.getElementById('likely-matches');
if (form && region) {
  const kPauseMs = 500;
  const kFields = ['given_name', 'family_name', 'birth_day', 'birth_month', 'birth_year', 'national_id'];
  let timer = null;
  let latest = 0;
  let last = '';

  const typed = () => {
    const v = Object.fromEntries(kFields.map((n) => [n, (form.elements[n]?.value ?? '').trim()]));
    const dob = v.birth_day !== '' && v.birth_month !== '' && v.birth_year.length === 4;
    return (v.family_name.length >= 2 && (v.given_name.length >= 2 || dob)) || v.national_id.length >= 4 ? v : null;
  };

  const check = async () => {
    const v = typed();
    if (!v) return;
    const query = new URLSearchParams({ check: '1', ...v }).toString();
    if (query === last) return;
    last = query;
    const mine = ++latest;
    try {
      const r = await fetch(`/clients/new?${query}`, { headers: { Accept: 'text/html' }, credentials: 'same-origin' });
      if (!r.ok || mine !== latest) return;
      const page = new DOMParser().parseFromString(await r.text(), 'text/html');
      const fresh = page.getElementById('likely-matches');
      if (fresh && mine === latest) region.innerHTML = fresh.innerHTML;
    } catch {
      // The matches are still shown when the form is sent.
    }
  };

  form.addEventListener('input', (e) => {
    if (!kFields.includes(e.target.name)) return;
    clearTimeout(timer);
    timer = setTimeout(check, kPauseMs);
  });
}
