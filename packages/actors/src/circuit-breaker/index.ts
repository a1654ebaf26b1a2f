export {
  type Call,
  type CallResult,
  type CallSettled,
  CallTimeoutError,
  CircuitBreaker,
  type CircuitBreakerMsg,
  type CircuitBreakerOptions,
  CircuitOpenError,
  type CircuitState,
  type CircuitStateChanged,
  circuitBreaker,
} from './circuit-breaker.js';
