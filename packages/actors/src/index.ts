/**
 * @troupe/actors — reusable actors built only on @troupe/runtime's public API.
 *
 * @packageDocumentation
 */

export * from './batcher/index.js';
export * from './circuit-breaker/index.js';
export * from './router/index.js';
export * from './topic/index.js';
export * from './window/index.js';
