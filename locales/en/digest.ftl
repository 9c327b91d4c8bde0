### Managers' digests (backoffice/digest.py, backoffice/chart.py). Inserted values are escaped.

## digest.title

digest-title-daily = 📊 <b>Digest for { $period }</b>
digest-title-weekly = 📊 <b>Weekly digest, { $period }</b>
digest-title-today = 📊 <b>Digest for today, { $period }, until { $until }</b>
digest-title-range = 📊 <b>Digest for { $period }</b>

## digest.summary

digest-summary-flow = 🆕 New: { $new } · ✅ resolved: { $resolved } · 🔒 closed: { $closed } · ↩️ reopened: { $reopened }
digest-summary-backlog = 📥 Open now: { $backlog } ({ $change } over the period)
digest-summary-sla = ⏱ SLA met: first response { $first_met } of { $first_total }, resolution { $resolution_met } of { $resolution_total } · at risk now: { $at_risk }
digest-summary-rating = ⭐ Rating: { $average } ({ $count })
digest-summary-no_rating = ⭐ No ratings

## digest.section

digest-section-new = <b>New requests: { $total }</b>
digest-section-by_kind = By kind: { $values }
digest-section-by_priority = By priority: { $values }
digest-section-by_channel = By channel: { $values }
digest-section-by_status = By status: { $values }
digest-section-resolved = <b>Resolved: { $resolved }</b> · reopened: { $reopened }
digest-section-closed = <b>Closed: { $total }</b>
digest-section-closed_customer = confirmed: { $confirmed } · auto-closed: { $auto } · withdrawn: { $withdrawn }
digest-section-closed_agent = closed by an agent: duplicate { $duplicate } · spam { $spam } · other { $other }
digest-section-backlog = <b>Open now: { $total }</b> (change over the period: { $change })
digest-section-sla = <b>SLA</b> (met / breached)
digest-section-sla_line = { $tariff }: first response { $first_met } / { $first_breached } · resolution { $resolution_met } / { $resolution_breached }
digest-section-sla_none = no target fell due in this period
digest-section-at_risk = At risk now (over 80 % of a target gone): { $count }
digest-section-times = <b>Times in support hours</b> (median / 90th percentile)
digest-section-first_response = First response: { $median } / { $p90 }
digest-section-resolution = Resolution: { $median } / { $p90 }
digest-section-rating = <b>Ratings:</b> { $average } of 5, { $count } in all
digest-section-no_rating = <b>Ratings:</b> none
digest-section-agents = <b>Agents</b> (taken · resolved · first response, median · reopened after their resolution)
digest-section-agent = { $name }: { $taken } · { $resolved } · { $first_response } · { $reopened }
digest-section-no_agents = nobody worked on requests
digest-section-oldest = <b>Oldest open requests</b>
digest-section-oldest_line = { $number } · { $priority } · { $status } · since { $since } · { $topic } · <code>/ticket { $plain }</code>
digest-section-none_open = no open requests

## digest.value

digest-value-none = —
digest-value-minutes = { $minutes } min
digest-value-hours = { $hours } h { $minutes } min
digest-channel-telegram = bot
digest-channel-cabinet = cabinet

## digest.chart

digest-chart-title = Requests, last 14 days
digest-chart-opened = Opened
digest-chart-closed = Closed
digest-chart-backlog = Open (end of day)

## digest.answer

digest-answer-bad_period = I did not understand the period. Try: /digest (today), /digest day (yesterday), /digest week (last week) or /digest { $example }
digest-answer-empty = Nothing to show yet.

## digest.commands

digest-commands-digest = Managers' digest: /digest, day, week or a period
