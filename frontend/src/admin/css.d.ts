// Style sheets imported for their side effect: esbuild bundles them into the entry's .css file (statistics.ts).
declare module "*.css";
