// pinvr pages: every time shown in one format, in the browser's zone or UTC (timefmt.js),
// and a confirmation before anything is deleted (forms with data-confirm).
"use strict";

import { showTimes } from "./timefmt.js";

showTimes(document);
document.addEventListener("pinvr-zone", () => showTimes(document));
for (const f of document.querySelectorAll("form[data-confirm]")) {
  f.addEventListener("submit", (e) => {
    if (!confirm(f.dataset.confirm)) e.preventDefault();
  });
}
