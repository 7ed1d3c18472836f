// Jest's ESM runtime refuses a CommonJS package that require()s @nestjs/common (ESM only) once an
// ES module has begun loading it ("Cannot require() ES Module … in a cycle"). Loaded here first, on
// Node 24's require(esm), @willsoto/nestjs-prometheus resolves before any test module imports Nest.
require('@willsoto/nestjs-prometheus');
