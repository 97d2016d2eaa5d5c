/**
 * The in-call conveniences around the stage, put together for the conference: the participant count and
 * "You are the only one here" (headcount.ts), "Copy invite link" (invite.ts), keyboard shortcuts with their
 * help (shortcuts.ts), the audio levels / speaking rings of the tiles (speaking.ts), the controls' icons and
 * names (icons.ts), and the unread count on the phone layout's "Chat" button.
 */

import { unreadLabel, type ChatView } from "./chat";
import { Headcount } from "./headcount";
import { iconizeControls } from "./icons";
import { InviteLink, inviteUrl } from "./invite";
import type { Grid } from "./layout/grid";
import { Shortcuts } from "./shortcuts";
import { AudioLevels } from "./speaking";
import type { Page } from "./ui";

export class CallTools {
  readonly headcount: Headcount;
  readonly invite: InviteLink;
  readonly shortcuts: Shortcuts;
  private readonly levels: AudioLevels;

  constructor(
    private readonly page: Page,
    grid: Grid,
  ) {
    iconizeControls(page);
    const header = page.status.parentElement ?? page.root;
    const url = inviteUrl(page.root);
    this.headcount = new Headcount(header, page.status, page.grid, url);
    this.invite = new InviteLink(url);
    this.invite.element.classList.add("header-invite");
    this.invite.element.hidden = true;
    header.insertBefore(this.invite.element, page.status);

    this.shortcuts = new Shortcuts(
      [
        { key: "d", description: "Mute or unmute the microphone", button: page.micButton },
        { key: "e", description: "Turn the camera off or on", button: page.camButton },
      ],
      page.root,
    );
    const help = document.createElement("button");
    help.type = "button";
    help.id = "btn-shortcuts";
    help.className = "btn-shortcuts";
    help.textContent = "?";
    help.setAttribute("aria-label", "Keyboard shortcuts");
    help.title = "Keyboard shortcuts (?)";
    help.addEventListener("click", () => this.shortcuts.showHelp());
    header.insertBefore(help, page.status);

    this.levels = new AudioLevels(grid);
  }

  /** The unread chat count on the "Chat" button that opens the side panel on narrow screens, seen and heard. */
  showUnread(chat: ChatView): void {
    const button = this.page.sideButton;
    const name = button.getAttribute("aria-label") ?? "Chat";
    chat.attachBadge(button);
    chat.onUnread((count) => {
      button.setAttribute("aria-label", count === 0 ? name : `${name}, ${unreadLabel(count).label}`);
    });
  }

  /** Joined (again): everyone in the room, me included. */
  joined(participantIds: string[]): void {
    this.headcount.reset(participantIds);
    this.invite.element.hidden = false;
    this.levels.start();
  }

  disconnected(): void {
    this.headcount.clear();
  }

  /** The call is over. */
  end(): void {
    this.headcount.clear();
    this.invite.element.hidden = true;
    this.shortcuts.stop();
    this.levels.stop();
  }
}
