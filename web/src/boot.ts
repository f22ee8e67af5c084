// Imported first by main.ts, so it runs before any other module of the bundle: marks when the
// page's script starts to run (bench/js/chromium_join.mjs reads it). Records a time only.
try {
  performance.mark('tokencast:script-start');
} catch {
  /* no User Timing here */
}
