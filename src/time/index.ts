export { type Clock, sleep, type TimerHandle } from './clock.js';
export { type Random, SeededRandom, SystemRandom, systemRandom } from './random.js';
export { SystemClock, systemClock } from './system-clock.js';
export { settle, VirtualClock } from './virtual-clock.js';
