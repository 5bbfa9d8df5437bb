// Per-runtime counters (one per outcome, like hypercore's Peer.stats): frames in and out by type,
// inbound drops by reason, catch-up outcomes. Plain numbers, read by status pages and asserted by
// tests.

/** Why an inbound message was dropped without effect. */
export const InboundDrop = {
  FromSelf: 'from-self',
  NotMember: 'not-member',
  ChannelMismatch: 'channel-mismatch',
  UnknownToken: 'unknown-token',
  NotBelievedLeader: 'not-believed-leader',
  WrongRole: 'wrong-role',
  /** A response from an older epoch (or without epoch fields): not from our leader. */
  StaleEpoch: 'stale-epoch',
} as const;
export type InboundDrop = (typeof InboundDrop)[keyof typeof InboundDrop];

/** Per-runtime counters (frames in and out by type, drops by reason, catch-up outcomes). */
export interface RuntimeStats {
  ticks: number;
  /** Ticks that found nothing due and skipped the full step (node beats, beat-liveness.ts). */
  quietTicks: number;
  /** Of those, the ones that sent an unchanged heartbeat (a refresh, or to a peer not heard yet). */
  quietRefreshes: number;
  /** Tick heartbeats left out because a node beat stood for them. */
  heartbeatsSuppressed: number;
  /** Inbound heartbeats that repeated the last one and were taken without a step. */
  quietHeartbeats: number;
  heartbeatsIn: number;
  requestsIn: number;
  responsesIn: number;
  nacksIn: number;
  heartbeatsOut: number;
  requestsOut: number;
  responsesOut: number;
  nacksOut: number;
  sendFailures: number;
  chunksApplied: number;
  eventsApplied: number;
  emptyResponses: number;
  staleChunks: number;
  /** Replica: responses overlapping the applied tail, applied from the tail on (pipeline). */
  trimmedChunks: number;
  /** Replica: responses that started past the tail, dropped; the pipeline asked again from it. */
  pipelineRestarts: number;
  applyErrors: number;
  skipAheads: number;
  divergenceSuspected: number;
  diskPressure: number;
  fileErrors: number;
  backoffSkips: number;
  inFlightSkips: number;
  /** Leader: requests from caught-up replicas held open until the next append (long poll). */
  requestsParked: number;
  /** Leader: held requests answered, with new appends or (after the hold) empty. */
  parkedAnswered: number;
  /** Leader: append announcements not sent to a replica whose next request was on its way. */
  announcementsSkipped: number;
  /** Ticks that moved an election (started a pre-vote, stepped down, gave one up). */
  elections: number;
  /** Vote requests and answers sent. */
  votesOut: number;
  /** Diverged suffixes cut from this log. */
  truncations: number;
  /** Steps that threw something unexpected (a bug); `lastError` keeps the latest. */
  stepErrors: number;
  readonly drops: Record<InboundDrop, number>;
}

export function emptyStats(): RuntimeStats {
  const drops = {} as Record<InboundDrop, number>;
  for (const reason of Object.values(InboundDrop)) drops[reason] = 0;
  return {
    ticks: 0,
    quietTicks: 0,
    quietRefreshes: 0,
    heartbeatsSuppressed: 0,
    quietHeartbeats: 0,
    heartbeatsIn: 0,
    requestsIn: 0,
    responsesIn: 0,
    nacksIn: 0,
    heartbeatsOut: 0,
    requestsOut: 0,
    responsesOut: 0,
    nacksOut: 0,
    sendFailures: 0,
    chunksApplied: 0,
    eventsApplied: 0,
    emptyResponses: 0,
    staleChunks: 0,
    trimmedChunks: 0,
    pipelineRestarts: 0,
    applyErrors: 0,
    skipAheads: 0,
    divergenceSuspected: 0,
    diskPressure: 0,
    fileErrors: 0,
    backoffSkips: 0,
    inFlightSkips: 0,
    requestsParked: 0,
    parkedAnswered: 0,
    announcementsSkipped: 0,
    elections: 0,
    votesOut: 0,
    truncations: 0,
    stepErrors: 0,
    drops,
  };
}
