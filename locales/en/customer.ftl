## status

status-new = 🆕 New
status-in_progress = 🛠 In progress
status-waiting_customer = ⏳ Waiting for your reply
status-resolved = ✅ Resolved, awaiting confirmation
status-closed = 🔒 Closed

## kind

kind-incident = Incident
kind-problem = Problem
kind-service = Service request
kind-development = Development request

## priority

priority-1 = P1 — critical
priority-2 = P2 — high
priority-3 = P3 — normal
priority-4 = P4 — low

## notify

notify-registered =
    Request <b>{ $number }</b> registered.
    Priority: { $priority }. First answer expected by { $due } Moscow time.
notify-registered_outside_hours = Support is closed now; work on the request starts { $starts } Moscow time.
notify-taken = { $agent } has taken request <b>{ $number }</b>.
notify-taken_anonymous = Request <b>{ $number }</b> is being worked on.
notify-priority_changed = Priority of request <b>{ $number }</b> changed: { $old } → { $new }.
notify-info_requested =
    Request <b>{ $number }</b> needs more information:

    { $question }

    Reply with your next message; it will be added to the request.
notify-reply =
    💬 Reply on request <b>{ $number }</b>:

    { $text }
notify-resolved =
    ✅ Request <b>{ $number }</b> is resolved.

    { $answer }

    Please confirm that it is solved. Without an answer it closes automatically { $auto_close } Moscow time.
notify-resolved_no_answer =
    ✅ Request <b>{ $number }</b> is resolved.

    Please confirm that it is solved. Without an answer it closes automatically { $auto_close } Moscow time.
notify-reopened = 🔄 Request <b>{ $number }</b> is back in progress. Reason: { $reason }
notify-auto_close_reminder =
    ⏰ Request <b>{ $number }</b> is resolved and awaits your confirmation.
    Without an answer it closes automatically { $auto_close } Moscow time.
notify-clean_copy = This is how support will see the image: file metadata and location removed.
notify-waiting_reminder = 💬 Support is waiting for your answer to its question on <b>{ $number }</b>. Reply to this message to continue.
notify-rate_prompt = Please rate how support handled this request:

## notify.closed

notify-closed-confirmed = 🔒 Request <b>{ $number }</b> is closed. Thank you for confirming!
notify-closed-withdrawn = 🔒 Request <b>{ $number }</b> is closed at your request.
notify-closed-auto = 🔒 Request <b>{ $number }</b> closed automatically: no answer for { $days } { $days ->
        [one] business day
       *[other] business days
    }. If the question remains, please file a new request.
notify-closed-duplicate = 🔒 Request <b>{ $number }</b> closed as a duplicate.
notify-closed-spam = 🔒 Request <b>{ $number }</b> is closed.
notify-closed-other = 🔒 Request <b>{ $number }</b> is closed.
notify-closed-comment = Comment: { $comment }

## buttons

buttons-solved = ✅ Solved
buttons-not_solved = ❌ Not solved
buttons-view = Open request
buttons-add_info = ➕ Add information
buttons-withdraw = 🗑 Withdraw
buttons-withdraw_confirm = Yes, withdraw
buttons-stars = { $stars } ⭐
buttons-cancel = Cancel
buttons-back = ⬅️ Back
buttons-more = More ➡️
buttons-new_request = 📝 New request
buttons-reopen = 🔄 Reopen

## my

my-title = Your requests:
my-empty = You have no requests yet.
my-line = { $number } · { $status } · { $updated } · { $topic }
my-view =
    <b>{ $number }</b> · { $kind }
    Status: { $status }
    Priority: { $priority }
    Topic: { $topic }
    Last change: { $updated }
my-history_title = History:
my-history_line = { $time } — { $what }

## history

history-create = request created
history-take = taken by support
history-assign = assignee set
history-set_priority = priority changed
history-reply = support replied: { $comment }
history-ask_customer = support asked: { $comment }
history-customer_message = you added: { $comment }
history-resolve = resolved
history-confirm = you confirmed the solution
history-reopen = reopened: { $comment }
history-withdraw = you withdrew the request
history-close = closed
history-auto_close = closed automatically
history-auto_close_reminder = closing reminder
history-split = a question moved to a new request
history-rate = rated
history-edit = message corrected
history-note = note
history-customer_blocked = the customer blocked the bot
history-waiting_reminder = reminder of support's question
history-split_from = created from another request

## ask

ask-reason = Please write why request <b>{ $number }</b> is not solved — the reason is required and goes to the specialist.
ask-info = Write what to add to request <b>{ $number }</b> (text, photo or file).
ask-withdraw = Withdraw request <b>{ $number }</b>? Work on it will stop.
ask-which = Which request should this message go to?
ask-none_open = You have no open requests. File a new one?
ask-resolved_choice = Request <b>{ $number }</b> is already resolved. Reopen it with this message as the reason, or file a new request?
ask-need_text = Please write the reason as text.

## done

done-added = Added to request <b>{ $number }</b>.
done-confirmed = Thank you! The request is closed.
done-reopened = The request is back in progress.
done-withdrawn = The request is withdrawn.
done-rated = Thank you for the rating!
done-cancelled = Cancelled.

## help

help-text =
    <b>How Call to Visit support works</b>
    One request — one problem. Please file new questions as new requests.
    /new — new request
    /my — my requests and their status
    /lang — language
    Support works every day from { $start } to { $end } Moscow time.

## lang

lang-choose = Выберите язык / Choose your language:
lang-set = Language: English.

## relay

relay-edit_not_sent = The edit could not be passed on to support: { $reason }
