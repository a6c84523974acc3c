// The console's only script (served from /console/console.js, so the page's CSP allows no
// inline script): the queue's "select all" box ticks every case box, and on a phone a table
// shown as cards labels each value with its column's heading.
document.addEventListener('change', (e) => {
  if (e.target && e.target.id === 'select-all') {
    for (const b of document.querySelectorAll('input[name=case]')) b.checked = e.target.checked;
  }
});
document.addEventListener('DOMContentLoaded', () => {
  for (const table of document.querySelectorAll('table.cards')) {
    const heads = [...table.querySelectorAll('tr:first-child th')].map((th) => th.textContent.trim());
    for (const row of table.querySelectorAll('tr')) {
      [...row.children].forEach((cell, i) => {
        if (cell.tagName === 'TD' && heads[i]) cell.dataset.label = heads[i];
      });
    }
  }
});
