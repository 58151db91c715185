// Reports every push's decrypted text to the test, then shows it (the
// subscription is userVisibleOnly).
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", event => event.waitUntil(self.clients.claim()));

self.addEventListener("push", event => {
  const text = event.data ? event.data.text() : null;
  event.waitUntil((async () => {
    await fetch("/report/push", {method: "POST", body: JSON.stringify(text)});
    try {
      await self.registration.showNotification("pushd", {body: text || ""});
    } catch (error) {
      await fetch("/report/log", {method: "POST", body: JSON.stringify("showNotification: " + error)});
    }
  })());
});

self.addEventListener("pushsubscriptionchange", () => {
  fetch("/report/log", {method: "POST", body: JSON.stringify("pushsubscriptionchange")});
});
