export { SelfSubscriptionError } from './self-subscription-error.js';
export {
  type Lagged,
  type OnFull,
  type SubscribeOptions,
  type SubscriptionStats,
  type TopicAck,
  type TopicControl,
  type TopicFilter,
  type TopicMessage,
  type TopicStats,
  topic,
} from './topic.js';
export { Topic } from './topic-client.js';
