export {
  type Lagged,
  type OnFull,
  type SubscribeOptions,
  type SubscriptionStats,
  Topic,
  type TopicAck,
  type TopicControl,
  type TopicFilter,
  type TopicMessage,
  type TopicStats,
  topic,
} from './topic.js';
