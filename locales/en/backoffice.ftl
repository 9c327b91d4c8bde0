### The agents' group (backoffice/). Values inserted into HTML are escaped by the renderer.

## backoffice

backoffice-time_format = %d.%m %H:%M
backoffice-topic_name = { $emoji } { $number } · { $topic }

## backoffice.status

backoffice-status-new = New
backoffice-status-in_progress = In progress
backoffice-status-waiting_customer = Waiting for the customer
backoffice-status-resolved = Resolved
backoffice-status-closed = Closed

## backoffice.status_emoji

backoffice-status_emoji-new = 🆕
backoffice-status_emoji-in_progress = 🛠
backoffice-status_emoji-waiting_customer = ⏳
backoffice-status_emoji-resolved = ✅
backoffice-status_emoji-closed = 🔒

## backoffice.priority_emoji

backoffice-priority_emoji-p1 = 🔴
backoffice-priority_emoji-p2 = 🟠
backoffice-priority_emoji-p3 = 🟡
backoffice-priority_emoji-p4 = ⚪

## backoffice.kind

backoffice-kind-incident = Incident
backoffice-kind-problem = Problem
backoffice-kind-service = Service request
backoffice-kind-development = Development request

## backoffice.close_reason

backoffice-close_reason-confirmed = the customer confirmed the solution
backoffice-close_reason-withdrawn = the customer withdrew it
backoffice-close_reason-auto = automatically, the customer did not answer
backoffice-close_reason-duplicate = duplicate
backoffice-close_reason-spam = spam
backoffice-close_reason-other = other

## backoffice.card

backoffice-card-title = { $emoji } <b>{ $number }</b> · { $kind } · { $priority }
backoffice-card-topic = <b>{ $topic }</b>
backoffice-card-customer = 👤 { $customer }
backoffice-card-no_name = no name
backoffice-card-tariff = tariff “{ $tariff }”
backoffice-card-from_cabinet = 🖥 From the personal cabinet
backoffice-card-state = 📌 Status: <b>{ $status }</b> · assignee: { $assignee }
backoffice-card-unassigned = nobody
backoffice-card-first_response_due = ⏱ First response due { $at }
backoffice-card-first_responded = 💬 First response: { $at }
backoffice-card-resolution_due = 🎯 Resolution due { $at }
backoffice-card-paused = ⏸ SLA paused: waiting for the customer
backoffice-card-auto_close = ⏳ Auto-close: { $at }
backoffice-card-closed = 🔒 Closed { $at }: { $reason }
backoffice-card-reopened = ↩️ Reopened: { $count }
backoffice-card-rating = ⭐ Customer's rating: { $stars }
backoffice-card-blocked = ⛔ The customer blocked the bot ({ $at }): replies will not reach them
backoffice-card-description =
    <b>Description</b>
    <blockquote expandable>{ $text }</blockquote>
backoffice-card-details =
    <b>Technical details</b>
    <pre>{ $text }</pre>

## backoffice.button

backoffice-button-take = 🙋 Take
backoffice-button-assign = 👥 Assign…
backoffice-button-priority = ⚡ Priority…
backoffice-button-ask = ❓ Ask the customer
backoffice-button-resolve = ✅ Resolve
backoffice-button-close = 🔒 Close…
backoffice-button-reopen = ↩️ Reopen
backoffice-button-back = ← Back
backoffice-button-current = • { $label }
backoffice-button-close_duplicate = Duplicate
backoffice-button-close_spam = Spam
backoffice-button-close_other = Other…
backoffice-button-split = ➕ New request from this message
backoffice-button-previous = ← Back
backoffice-button-next = Next →

## backoffice.relay

backoffice-relay-customer = 💬 <b>{ $name }</b>:
backoffice-relay-unsupported = This will not reach the customer: only text, photos and files are sent to customers.
backoffice-relay-note_saved = 📝 Internal note saved — the customer will not see it.
backoffice-relay-edit_not_sent = The edit was not sent to the customer. { $reason }

## backoffice.event

backoffice-event-confirm = ✅ The customer confirmed the solution.
backoffice-event-reopen = ↩️ The request was reopened.
backoffice-event-withdraw = 🚪 The customer withdrew the request.
backoffice-event-auto_close = ⏰ Closed automatically: the customer did not answer.
backoffice-event-other = ℹ️ { $action }
backoffice-event-comment = <blockquote>{ $comment }</blockquote>
backoffice-sla-first_response_at_risk = ⚠️ { $number }: less than 20 % of the time to the first response ({ $due }) is left. Assignee: { $assignee }.
backoffice-sla-first_response_breached = ⛔ { $number }: the first-response deadline ({ $due }) is missed. Assignee: { $assignee }.
backoffice-sla-resolution_at_risk = ⚠️ { $number }: less than 20 % of the time to resolution ({ $due }) is left. Assignee: { $assignee }.
backoffice-sla-resolution_breached = ⛔ { $number }: the resolution deadline ({ $due }) is missed. Assignee: { $assignee }.
backoffice-sla-nobody = nobody — take the request

## backoffice.prompt

backoffice-prompt-ask =
    ❓ { $number } · { $topic }
    { $agent }, reply to this message with your question to the customer.
backoffice-prompt-resolve =
    ✅ { $number } · { $topic }
    { $agent }, reply to this message with the answer that solves it.
backoffice-prompt-close_other =
    🔒 { $number } · { $topic }
    { $agent }, reply to this message with the reason for closing.
backoffice-prompt-reopen =
    ↩️ { $number } · { $topic }
    { $agent }, reply to this message with the reason for reopening.
backoffice-prompt-placeholder = Text…

## backoffice.answer

backoffice-answer-taken = The request is yours.
backoffice-answer-assigned = Assignee set.
backoffice-answer-priority_set = Priority changed.
backoffice-answer-closed = Request closed.
backoffice-answer-resolved = Resolved; waiting for the customer's confirmation.
backoffice-answer-reopened = The request is back in progress.
backoffice-answer-asked = The question went to the customer.
backoffice-answer-split = Request { $number } created.
backoffice-answer-not_agent = Only support agents may do this.
backoffice-answer-no_request = I found no request for this message.
backoffice-answer-nothing_to_split = The message has no text for a new request.
backoffice-answer-usage_ticket = Give the request number: /ticket CTV-1042
backoffice-answer-usage_history = Give the request number: /history CTV-1042
backoffice-answer-usage_find = Find what? /find CTV-1042, /find @username or /find text
backoffice-answer-usage_split = Reply with /split to a customer's message (or add the new request's text: /split text).
backoffice-answer-usage_note = Write the note after the command (/note text) in the request's topic or as a reply to one of its messages.
backoffice-answer-reply_into_note = The customer has already seen this reply: it cannot become a note. Write an internal note as a separate message starting with "!", or with /note.
backoffice-answer-text_required = Text is required.
backoffice-answer-too_long = The text is too long: { $maximum } { $maximum ->
        [one] character
       *[other] characters
    } at most.

## backoffice.queue

backoffice-queue-title_all = 📋 <b>Open requests</b>
backoffice-queue-title_mine = 🙋 <b>My requests</b>
backoffice-queue-page = { $title } ({ $first }–{ $last })
backoffice-queue-empty = No open requests.
backoffice-queue-line = { $priority } { $number } { $emoji } { $topic } · { $assignee } · due { $due }{ $overdue }
backoffice-queue-overdue = { " " }⚠️ overdue

## backoffice.find

backoffice-find-title = 🔎 Found for “{ $query }”: { $count }
backoffice-find-none = 🔎 Nothing found for “{ $query }”.

## backoffice.history

backoffice-history-title = 📜 <b>History of { $number }</b> · { $topic }
backoffice-history-line = { $at } · { $who } · { $what }
backoffice-history-internal = 📝 { $line }
backoffice-history-comment = <blockquote>{ $comment }</blockquote>
backoffice-history-split_from = from { $number }

## backoffice.action

backoffice-action-create = filed the request
backoffice-action-take = took it
backoffice-action-assign = assigned it
backoffice-action-set_priority = changed the priority
backoffice-action-reply = replied to the customer
backoffice-action-note = left an internal note
backoffice-action-ask_customer = asked the customer for information
backoffice-action-customer_message = wrote to the request
backoffice-action-resolve = resolved it
backoffice-action-confirm = confirmed the solution
backoffice-action-reopen = reopened it
backoffice-action-withdraw = withdrew it
backoffice-action-close = closed it
backoffice-action-auto_close = closed it automatically
backoffice-action-auto_close_reminder = reminded the customer of the auto-close
backoffice-action-split = moved a question to a new request
backoffice-action-split_from = created it from another request
backoffice-action-rate = rated the solution
backoffice-action-edit = corrected a message
backoffice-action-customer_blocked = noted: the customer blocked the bot
backoffice-action-sla_warning = warned of an SLA deadline
backoffice-action-waiting_reminder = reminded the customer of the question

## backoffice.stats

backoffice-stats-text =
    📊 <b>Open now: { $total }</b>
    { $statuses }
    { $priorities }
    ⚠️ Overdue: { $overdue } · unassigned: { $unassigned }

## backoffice.commands

backoffice-commands-queue = Open requests by priority
backoffice-commands-mine = My open requests
backoffice-commands-find = Find: CTV-1042, @username or text
backoffice-commands-ticket = Show a request's card
backoffice-commands-history = A request's history
backoffice-commands-stats = Summary: open, overdue
backoffice-commands-note = Internal note (the customer never sees it)
backoffice-commands-split = New request from a customer's message
backoffice-commands-version = The desk's version
backoffice-version = Desk version: { $version }
