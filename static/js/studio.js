// Job cards arrive two ways: the submit's own response inserts the new card at the top of
// the job list, and the project's socket pushes every card of the project, which replaces
// the card with the same id. Keep exactly one card per job, whichever comes first.

// A pushed card with no card to replace (a job another member or the API started, or the
// socket beating the submit's response) goes to the top of the job list.
document.addEventListener("htmx:oobErrorNoTarget", (event) => {
  const card = event.detail.content;
  if (card && card.getAttribute("hx-swap-oob") === "delete") return; // Already gone here.
  const jobs = document.getElementById("jobs");
  if (jobs && card && card.id && card.id.startsWith("generation-")) {
    jobs.prepend(card);
    htmx.process(card);
  } else if (jobs && card && card.id && card.id.startsWith("progress-")) {
    fetchMissingCard(jobs, card.dataset.card);
  }
});

// Steps push only a progress row; a page that lacks the job's card (it connected after the
// job started) fetches the card once, and later rows land in it.
const fetchedCards = new Set();
function fetchMissingCard(jobs, url) {
  if (!url || fetchedCards.has(url)) return;
  fetchedCards.add(url);
  htmx.ajax("GET", url, { target: jobs, swap: "afterbegin" });
}

// The submit's response inserting a card the socket already put there: skip it.
document.addEventListener("htmx:oobBeforeSwap", (event) => {
  const detail = event.detail;
  const card = detail.fragment && detail.fragment.querySelector("[id^='generation-']");
  if (detail.target.id === "jobs" && card && document.getElementById(card.id)) {
    detail.shouldSwap = false;
  }
});
