// Runs before the first paint: an explicit choice from the toggle wins over prefers-color-scheme.
try {
  const theme = localStorage.getItem('chaos-handler.theme');
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
} catch {
  // storage disabled: follow the system
}
