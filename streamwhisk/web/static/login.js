// Logging in through the project's mastrogpt/login, as the platform's page does: the username
// and password posted to it; the `token` it answers kept in this browser and sent with every
// request to an action, until logout.
const KEPT = "streamwhisk.login";
const $ = (id) => document.getElementById(id);
export const LOGIN = "/api/my/mastrogpt/login";

export function current() {
  try {
    const kept = JSON.parse(localStorage.getItem(KEPT) || "null");
    return kept && typeof kept.token === "string" ? kept : null;
  } catch {
    return null;
  }
}

export async function login(username, password) {
  const response = await fetch(LOGIN, {
    method: "POST",
    headers: { "content-type": "application/json" },
    // `username` as the course's login reads it, `name` as the starter's first one did
    body: JSON.stringify({ username, name: username, password }),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok || typeof answer.token !== "string" || answer.authenticated === false) {
    throw new Error(answer.output || answer.error || "Wrong username or password.");
  }
  const session = { username, token: answer.token };
  localStorage.setItem(KEPT, JSON.stringify(session));
  return session;
}

export function logout() {
  localStorage.removeItem(KEPT);
}

// A request's body with the token, when logged in
export function withToken(body) {
  const session = current();
  return session ? { ...body, token: session.token } : body;
}

function showLogin() {
  $("login").hidden = false;
  $("composer").hidden = true;
  $("logout").hidden = true;
  $("login-name").focus();
}

// The page behind the login: `enter` once logged in (now, if a token is kept), `leave` at logout
export function guard(enter, leave) {
  $("login").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("login-error").textContent = "";
    try {
      await login($("login-name").value, $("login-password").value);
      $("login-password").value = "";
      $("login").hidden = true;
      $("composer").hidden = false;
      $("logout").hidden = false;
      enter();
    } catch (error) {
      $("login-error").textContent = error.message;
    }
  });
  $("logout").addEventListener("click", () => {
    logout();
    leave();
    showLogin();
  });
  if (current()) {
    $("logout").hidden = false;
    enter();
  } else {
    showLogin();
  }
}
