export {
  type CountWindowOptions,
  countWindow,
  type TimeWindowOptions,
  timeWindow,
  type WindowAggregate,
  type WindowClose,
  type WindowMsg,
} from './window.js';
