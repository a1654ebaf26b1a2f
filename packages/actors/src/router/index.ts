export { DEFAULT_ROUTER_INTENSITY, type RouterOptions, type Routing, router } from './router.js';
