// esbuild bundles the stylesheets main.tsx imports into console.css.
declare module '*.css';
