import { memoryStore } from '../src/stores/memory-store.js';
import { storeConformance } from './store-conformance.js';

storeConformance('memory', { open: async () => memoryStore() });
