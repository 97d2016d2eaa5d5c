/**
 * Scrolling back through a chat's stored history: when the reader nears the top of the log, the next older page
 * is fetched (keyset: before the oldest shown message's id) and put above, the view staying where it was.
 * Used by the chats page and the conference's chat (chat.ts).
 */

import { fetchPage, type StoredChatMessage } from "./chat_message";

/** Within this many pixels of the top, the next older page is asked for. */
const NEAR_TOP_PX = 80;

export class ScrollBack {
  private oldest: number | null = null;
  private more = false;
  private loading = false;
  private generation = 0;
  private url = "";

  constructor(
    private readonly log: HTMLElement,
    private readonly render: (message: StoredChatMessage) => HTMLElement,
    private readonly pageSize = 50,
  ) {
    log.addEventListener("scroll", () => void this.maybeLoad(), { passive: true });
  }

  /** Follows the history at `url` (a conference's or a chat's messages): loads its newest page, returned
   *  oldest first, for the caller to show; older pages come as the reader scrolls up. */
  async start(url: string): Promise<StoredChatMessage[]> {
    this.generation += 1;
    this.url = url;
    const page = await fetchPage(url, null, this.pageSize);
    this.oldest = page.messages.length ? page.messages[0].id : null;
    this.more = page.more;
    return page.messages;
  }

  stop(): void {
    this.generation += 1;
    this.url = "";
    this.more = false;
  }

  get hasMore(): boolean {
    return this.more;
  }

  /** Loads older pages while the reader is near the top (or the log does not fill its box yet). */
  async maybeLoad(): Promise<void> {
    if (this.loading || !this.more || !this.url || this.oldest === null) return;
    // A hidden log (clientHeight 0) loads nothing; a shown one loads while near its top or not yet full.
    if (this.log.clientHeight === 0 || this.log.scrollTop > NEAR_TOP_PX) return;
    this.loading = true;
    const generation = this.generation;
    try {
      const page = await fetchPage(this.url, this.oldest, this.pageSize);
      if (generation !== this.generation) return;
      const fromBottom = this.log.scrollHeight - this.log.scrollTop;
      const first = this.log.firstElementChild;
      for (const message of page.messages) this.log.insertBefore(this.render(message), first);
      this.log.scrollTop = this.log.scrollHeight - fromBottom;
      this.oldest = page.messages.length ? page.messages[0].id : this.oldest;
      this.more = page.more && page.messages.length > 0;
      this.log.dataset.historyComplete = this.more ? "0" : "1";
    } catch {
      // Scrolling up again asks again.
    } finally {
      this.loading = false;
    }
    if (generation === this.generation) void this.maybeLoad();
  }
}
