/**
 * Keyboard shortcuts of the call, as in Google Meet: Ctrl+D (⌘D on a Mac) mutes and unmutes the microphone,
 * Ctrl+E (⌘E) turns the camera off and on, and "?" lists them. They act by pressing the buttons, so they do
 * exactly what a click does (nothing while a button is disabled), and they never fire while the user types
 * in a text field such as the chat input.
 */

export interface Shortcut {
  /** The key with Ctrl (or ⌘ on a Mac). */
  key: string;
  /** What the help says it does. */
  description: string;
  button: HTMLButtonElement;
}

/** Whether keys typed now go into a text field (an input, a text area, a select or editable content). */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) {
    return !["button", "checkbox", "radio", "range", "submit", "reset", "color", "file", "image"].includes(target.type);
  }
  return false;
}

/** "Ctrl+D" or "⌘D", for help texts and titles. */
export function shortcutText(key: string, mac: boolean): string {
  return mac ? `⌘${key.toUpperCase()}` : `Ctrl+${key.toUpperCase()}`;
}

function onMac(): boolean {
  return /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
}

export class Shortcuts {
  readonly help: HTMLDialogElement;
  private readonly mac = onMac();
  private readonly onKey = (event: KeyboardEvent): void => this.handle(event);

  constructor(
    private readonly shortcuts: Shortcut[],
    container: HTMLElement,
  ) {
    for (const s of shortcuts) {
      s.button.setAttribute("aria-keyshortcuts", `Control+${s.key.toUpperCase()} Meta+${s.key.toUpperCase()}`);
    }
    this.help = this.buildHelp();
    container.append(this.help);
    document.addEventListener("keydown", this.onKey);
  }

  stop(): void {
    document.removeEventListener("keydown", this.onKey);
    if (this.help.open) this.help.close();
  }

  showHelp(): void {
    if (!this.help.open) this.help.showModal();
  }

  private handle(event: KeyboardEvent): void {
    if (event.defaultPrevented || event.repeat || event.isComposing || isTyping(event.target)) return;
    const modifier = this.mac ? event.metaKey : event.ctrlKey;
    if (modifier && !event.altKey && !event.shiftKey) {
      const shortcut = this.shortcuts.find((s) => s.key === event.key.toLowerCase());
      if (!shortcut) return;
      event.preventDefault(); // Ctrl+D would bookmark the page, Ctrl+E search
      if (!shortcut.button.disabled) shortcut.button.click();
      return;
    }
    if (event.key === "?" && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      this.showHelp();
    }
  }

  private buildHelp(): HTMLDialogElement {
    const dialog = document.createElement("dialog");
    dialog.className = "shortcuts-help";
    dialog.setAttribute("aria-labelledby", "shortcuts-title");
    const title = document.createElement("h2");
    title.id = "shortcuts-title";
    title.textContent = "Keyboard shortcuts";
    const list = document.createElement("dl");
    const rows: [string, string][] = [
      ...this.shortcuts.map((s): [string, string] => [shortcutText(s.key, this.mac), s.description]),
      ["?", "Show these shortcuts"],
    ];
    for (const [keys, description] of rows) {
      const dt = document.createElement("dt");
      const kbd = document.createElement("kbd");
      kbd.textContent = keys;
      dt.append(kbd);
      const dd = document.createElement("dd");
      dd.textContent = description;
      list.append(dt, dd);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "Close";
    close.addEventListener("click", () => dialog.close());
    dialog.append(title, list, close);
    return dialog;
  }
}
