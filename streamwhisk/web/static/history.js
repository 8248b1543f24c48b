// Conversations kept in the browser: the list in localStorage (every tab sees it, to reopen
// one), each tab's current conversation per chat in sessionStorage (a reload keeps it; a new
// tab starts afresh, so two tabs never share a chat's state by accident).
const LIST = "streamwhisk.conversations";
const KEEP = 50;

export function newConversation(chat) {
  return { id: crypto.randomUUID(), action: chat.action, chat: chat.name, title: "",
           state: undefined, messages: [], updated: Date.now() };
}

export function conversations() {
  try {
    const list = JSON.parse(localStorage.getItem(LIST) || "[]");
    return Array.isArray(list) ? list.sort((a, b) => b.updated - a.updated) : [];
  } catch {
    return [];
  }
}

export function save(conversation) {
  conversation.updated = Date.now();
  const others = conversations().filter((c) => c.id !== conversation.id);
  // a conversation is kept once the user has said something (not for a chat's opening alone)
  const said = conversation.messages.some((message) => message.role === "user");
  const kept = said ? [conversation, ...others] : others;
  localStorage.setItem(LIST, JSON.stringify(kept.slice(0, KEEP)));
}

export function forget(conversation) {
  localStorage.setItem(LIST, JSON.stringify(conversations().filter((c) => c.id !== conversation.id)));
}

export function currentFor(chat) {
  const id = sessionStorage.getItem(`streamwhisk.current.${chat.action}`);
  return conversations().find((c) => c.id === id && c.action === chat.action) || null;
}

export function makeCurrent(conversation) {
  sessionStorage.setItem(`streamwhisk.current.${conversation.action}`, conversation.id);
}
