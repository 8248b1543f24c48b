"""The page tests' page objects: a page that records (and keeps on loopback) every URL it
asks for, and the chat page as a user works it."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, Route, expect

# what a page may reach: the server by address, and by the names every browser resolves to
# loopback (the platform's stream.localhost and s3.localhost among them)
LOOPBACK = ("http://127.0.0.1:", "http://localhost:", "http://stream.localhost:",
            "http://s3.localhost:", "data:", "about:srcdoc")

REPLY_S = 30  # how long a whole reply may take


class RecordingPage:
    """A page plus every URL it asked for."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.requested: list[str] = []
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.console_errors: list[str] = []  # a refused CSP source, a failed load
        page.on("console", lambda message: message.type == "error"
                and self.console_errors.append(message.text))
        page.route("**/*", self._route)

    def _route(self, route: Route) -> None:
        url = route.request.url
        self.requested.append(url)
        if url.startswith(LOOPBACK):
            route.continue_()
        else:
            route.abort()


class ChatPage:
    """The chat page, as a user works it: pick a chat, type, wait for the whole reply."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def settled(self) -> None:
        """The chat's opening (its answer to an empty invocation) has come."""
        expect(self.page.locator("#stop")).to_be_hidden()

    def choose(self, name: str) -> None:
        self.page.get_by_role("button", name=name, exact=True).click()
        self.settled()

    def type_and_enter(self, text: str) -> None:
        self.page.fill("#input", text)
        self.page.press("#input", "Enter")

    def replies(self) -> Locator:
        """The replies to what the user sent (not the chat's opening)."""
        return self.page.locator(".log:not([hidden]) .reply:not(.opening)")

    def opening(self) -> Locator:
        return self.page.locator(".log:not([hidden]) .reply.opening")

    def send(self, text: str) -> Locator:
        """Send, wait for the whole reply, return it."""
        before = self.replies().count()
        self.type_and_enter(text)
        reply = self.replies().nth(before)
        # the whole reply: an action on a service (S3, Redis) in a loaded full run takes
        # longer than expect's 5 s
        expect(reply.locator(".meta")).not_to_be_empty(timeout=REPLY_S * 1000)
        return reply
