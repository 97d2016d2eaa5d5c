/**
 * "Raise hand" (everyone, in every conference) and, for a listener of a moderated conference, why his microphone
 * and camera are off. Both sit in the call controls; the conference tells this view its state.
 */

/** What a listener is told next to his greyed-out microphone and camera. */
export const LISTENER_REASON = "Only speakers can talk in this meeting — raise your hand to ask.";

export class HandControl {
  readonly button: HTMLButtonElement;
  readonly reason: HTMLElement;
  private raised = false;

  /** Puts the button after `anchor` (a control button) and the reason before the controls' first button. */
  constructor(anchor: HTMLElement, onToggle: (raise: boolean) => void) {
    this.button = document.createElement("button");
    this.button.type = "button";
    this.button.id = "btn-hand";
    this.button.className = "control hand";
    this.button.addEventListener("click", () => onToggle(!this.raised));
    anchor.after(this.button);

    this.reason = document.createElement("p");
    this.reason.id = "listener-reason";
    this.reason.className = "listener-reason";
    this.reason.setAttribute("role", "note");
    this.reason.textContent = LISTENER_REASON;
    this.reason.hidden = true;
    anchor.parentElement?.prepend(this.reason);
    this.setRaised(false);
  }

  setRaised(raised: boolean): void {
    this.raised = raised;
    this.button.textContent = raised ? "Lower hand" : "Raise hand";
    this.button.setAttribute("aria-pressed", String(raised));
    this.button.title = raised ? "Lower your hand" : "Raise your hand to ask to speak";
  }

  get isRaised(): boolean {
    return this.raised;
  }

  /** A listener sees why he cannot talk; his disabled buttons point at the reason. */
  setListener(listener: boolean, disabledButtons: HTMLButtonElement[]): void {
    this.reason.hidden = !listener;
    for (const b of disabledButtons) {
      if (listener) {
        b.setAttribute("aria-describedby", this.reason.id);
        b.title = LISTENER_REASON;
      } else if (b.getAttribute("aria-describedby") === this.reason.id) {
        b.removeAttribute("aria-describedby");
      }
    }
  }

  setEnabled(enabled: boolean): void {
    this.button.disabled = !enabled;
  }
}
