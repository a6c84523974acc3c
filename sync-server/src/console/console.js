// The console's only script (served from /console/console.js, so the page's CSP allows no
// inline script): the queue's "select all" box ticks every case box.
document.addEventListener('change', (e) => {
  if (e.target && e.target.id === 'select-all') {
    for (const b of document.querySelectorAll('input[name=case]')) b.checked = e.target.checked;
  }
});
