// Filled in by the collaboration work (issue 10): see the page template that loads this bundle.
export {};
