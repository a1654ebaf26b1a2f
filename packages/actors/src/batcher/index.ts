export { type Batch, type BatchAged, type BatcherMsg, type BatcherOptions, batcher } from './batcher.js';
