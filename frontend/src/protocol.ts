/**
 * Types of the Veche signaling protocol, version 1 (docs/protocol.md is the contract).
 * Only what the browser client reads is typed; unknown fields are ignored.
 */

export const PROTOCOL_VERSION = 1;

export type Source = "camera" | "screen";
export type Role = "moderator" | "speaker" | "listener";

export interface Participant {
  id: string;
  display_name: string;
  guest: boolean;
  role: Role;
  audio: boolean;
  video: boolean;
  force_muted: boolean;
  /** Asks to speak (any participant may raise his hand; absent from older servers). */
  hand_raised?: boolean;
}

/** What a moderator may do to a participant over `moderate`. */
export type ModerationAction = "mute" | "remove" | "make_speaker" | "make_listener" | "lower_hand";

export interface Feed {
  feed: number;
  participant: string;
  source: Source;
  /** The feed's video codec as negotiated ("vp8", "vp9"); null or absent: no video or unknown. */
  video_codec?: string | null;
}

/**
 * How this client sends video in this conference (`joined.media`): VP8 simulcast, or VP9 with SVC layers.
 * `fallback: "vp9_unsupported"`: the conference runs on VP9, which this client said it cannot decode.
 */
export interface MediaPlan {
  video_codec: "vp8" | "vp9";
  scalability_mode: string | null;
  fallback: string | null;
}

export const DEFAULT_MEDIA_PLAN: MediaPlan = { video_codec: "vp8", scalability_mode: null, fallback: null };

export interface ChatMessage {
  from: string;
  display_name: string;
  text: string;
  ts: string;
}

export interface ConferenceInfo {
  id: number;
  name: string;
  type: string;
}

/** The web role's answer to `POST .../join`. */
export interface JoinAnswer {
  conference: ConferenceInfo;
  signaling_url: string;
  /** The app server chosen for the conference; sent back as `failed_server` when it stops answering. */
  server_id: string;
  ticket: string;
  /** This page's participant session: sent back when asking again, so a reconnect replaces the old connection. */
  session: string;
  ice_servers: RTCIceServer[];
  /** Client defaults from the cluster's shared settings. */
  client: { video_max_height?: number; video_max_bitrate_bps?: number };
}

export interface JoinedEvent {
  type: "joined";
  v: number;
  participant: string;
  conference: ConferenceInfo;
  role: Role;
  can_publish: boolean;
  participants: Participant[];
  feeds: Feed[];
  chat: ChatMessage[];
  media?: MediaPlan;
}

export interface PublishedReply {
  type: "published";
  id: number;
  source: Source;
  feed: number;
  sdp: string;
}

export interface SubscriptionOfferReply {
  type: "subscription_offer";
  id: number;
  feed: number;
  sdp: string;
  /** Present when the offer carries the feed's audio only: this client cannot decode its video. */
  video_withheld?: string;
}

export interface ErrorMessage {
  type: "error";
  id?: number;
  code: string;
  message: string;
}

/** Server events (messages without an `id`) that the client reacts to. */
export type ServerEvent =
  | JoinedEvent
  | { type: "participant_joined"; participant: Participant }
  | { type: "participant_updated"; participant: Participant }
  | { type: "participant_left"; participant: string }
  | { type: "feed_added"; feed: Feed }
  | { type: "feed_removed"; feed: number }
  | { type: "chat"; message: ChatMessage }
  | { type: "force_muted"; by: string }
  | { type: "removed"; by: string }
  | { type: "role_changed"; role: Role; can_publish: boolean; by: string }
  | { type: "media_reset" }
  | ErrorMessage;

/** Requests the client sends; `id` is added by the signaling client. */
export type ClientRequest =
  | { type: "join"; v: number; ticket: string; video_codecs?: string[] }
  | { type: "publish"; source: Source; sdp: string; scalability_mode?: string }
  | { type: "unpublish"; source: Source }
  | { type: "subscribe"; feed: number }
  | { type: "subscription_answer"; feed: number; sdp: string }
  | { type: "unsubscribe"; feed: number }
  | { type: "substream"; feed: number; substream: number }
  | { type: "state"; audio: boolean; video: boolean }
  | { type: "chat"; text: string }
  | { type: "hand"; raised: boolean }
  | { type: "moderate"; participant: string; action: ModerationAction }
  | { type: "ping" };

/** Any message received: a reply carries the request's `id`. */
export interface IncomingMessage {
  type: string;
  id?: number;
  [field: string]: unknown;
}

export const CHAT_MAX_LENGTH = 4000;
