## start

start-greeting =
    Hello, { $name }! This is <b>Call to Visit</b> support.
    File a request here and follow its status; our specialists work every day from { $start } to { $end } Moscow time.
start-new_request = 📝 New request
start-my_requests = 📋 My requests
start-link_not_found = No request was found for this link.
start-link_invalid = The link from the personal cabinet is invalid or has expired. Get a new one in the cabinet; meanwhile the bot works as usual.
start-linked = Done: you are linked to the organisation “{ $organisation }”. Your requests are served on its tariff.
start-linked_request = Done: this chat is now tied to your personal cabinet. Answers about { $number } and support's messages will come here.

## commands

commands-new = New request
commands-my = My requests
commands-lang = Language / Язык
commands-help = Help

## errors

errors-generic = Something went wrong. Please try again a little later — nothing you entered is lost.
errors-not_found = Request not found.
errors-permission_denied = This action is not available to you.
errors-managers_only = Digests are for the support desk's managers and administrators.
errors-illegal_transition = This action is not available for the request right now.
errors-already_closed = This request is already closed.
errors-already_rated = Thank you, this request already has your rating.
errors-already_taken = { $assignee } has already taken this request.
errors-concurrent_change = The request has just changed. Refresh the card and try again.
errors-validation_failed = Please check what you entered.

## leftover

leftover-command = There is no such command. What I can do: /help; a new request: /new, your requests: /my.
leftover-staff_command = This command works in the support group. Here, the customers' commands apply: /help.
leftover-unsupported = I take text, photos and files. Please describe the question in words or send a screenshot — /new starts a new request.
leftover-button = This button no longer works.
