"""One router per noun: workflows, runs, jobs, dependencies, status, graph, events, service,
plus the web UI's pages and the API docs page."""
