// Starts the NHS design system's components (header menu, skip link, tables...) on every viewer page. The
// package's page template does the body classes with an inline script; the viewer's CSP allows none, so
// they are set here. The module URL (versioned) is in the page's <meta name="nhsuk-js">.
document.body.classList.add('js-enabled', 'nhsuk-frontend-supported');
const meta = document.querySelector('meta[name="nhsuk-js"]');
const url = meta ? meta.getAttribute('content') : null;
if (url) {
  import(url).then((nhsuk) => nhsuk.initAll());
}
