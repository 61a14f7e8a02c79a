// A pushed job card replaces the card with the same id. When the page has no such card yet
// (a job another member or the API started, or the submit's own response arriving after
// the socket), htmx reports no target: put the card at the top of the job list instead.
document.addEventListener("htmx:oobErrorNoTarget", (event) => {
  const card = event.detail.content;
  const jobs = document.getElementById("jobs");
  if (jobs && card && card.id && card.id.startsWith("generation-")) {
    jobs.prepend(card);
    htmx.process(card);
  }
});
