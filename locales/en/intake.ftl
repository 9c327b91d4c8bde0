### The intake dialog (dialogs/intake.py): a new request step by step.

## intake

intake-rule = ☝️ <b>One request — one problem.</b> If you have several questions, file a request for each: each gets solved faster.
intake-step_kind =
    <b>New request · step 1 of 5 · kind</b>

    🧍 <b>Incident</b> — a failure for one user.
    🔥 <b>Problem</b> — the service stopped or broke for everyone, work is blocked.
    ❓ <b>Service request</b> — you need information or advice.
    💡 <b>Development request</b> — a suggestion to improve the service.

    Choose what fits best:
intake-step_topic =
    <b>Step 2 of 5 · topic</b>
    What the request is about, briefly — up to { $maximum } { $maximum ->
            [one] character
           *[other] characters
        }. For example: “Clients do not receive SMS reminders”.
intake-step_description =
    <b>Step 3 of 5 · description</b>
    Describe what happens: what you did, what you expected and what you got instead. From { $minimum } to { $maximum } { $maximum ->
            [one] character
           *[other] characters
        }.
intake-step_screenshots =
    <b>Step 4 of 5 · screenshots</b>
    Send up to { $maximum } { $maximum ->
            [one] screenshot
           *[other] screenshots
        } — as photos or as image files, an album is fine. If you have none, press “Skip”.
intake-screenshots_count = Screenshots received: <b>{ $count } of { $maximum }</b>.
intake-clean_copy = Screenshot { $number } of { $maximum } — this is what support will see: the file's metadata and location were removed.
intake-step_details =
    <b>Step 5 of 5 · technical details</b>
    Optional: the page address, browser or app version, record number, error text. Send them as text or press “Skip”.
intake-current = Now: <i>{ $value }</i>
intake-current_hint = Send a new text to replace it, or press “Next”.
intake-summary = <b>Check your request</b>
intake-summary_kind = <b>Kind:</b> { $value }
intake-summary_topic = <b>Topic:</b> { $value }
intake-summary_description =
    <b>Description:</b>
    { $value }
intake-summary_screenshots = <b>Screenshots:</b> { $count }
intake-summary_details =
    <b>Technical details:</b>
    { $value }
intake-summary_no_details = <b>Technical details:</b> none
intake-summary_footer = All correct — press “Submit”. Fix any field with the buttons below.
intake-truncated = … ({ $length } { $length ->
        [one] character
       *[other] characters
    } in all; support gets the whole text)
intake-sent = ✅ Request sent. Its number and the time of the first answer come in the next message.
intake-cancel_question = Cancel the request? Everything you entered will be deleted.
intake-cancelled = Request cancelled. Send /new to start again.
intake-reminder = ⏰ You started the request “{ $topic }” but have not sent it. The draft is saved — continue when convenient.
intake-reminder_no_topic = ⏰ You started a new request but have not sent it. The draft is saved — continue when convenient.

## intake.kinds

intake-kinds-incident = Incident
intake-kinds-problem = Problem
intake-kinds-service = Service request
intake-kinds-development = Development request

## intake.buttons

intake-buttons-incident = 🧍 Incident
intake-buttons-problem = 🔥 Problem
intake-buttons-service = ❓ Service request
intake-buttons-development = 💡 Development request
intake-buttons-back = ◀️ Back
intake-buttons-next = Next ▶️
intake-buttons-skip = Skip ▶️
intake-buttons-done = Done ▶️
intake-buttons-cancel = ✖️ Cancel
intake-buttons-submit = 📨 Submit
intake-buttons-edit_kind = ✏️ Kind
intake-buttons-edit_topic = ✏️ Topic
intake-buttons-edit_description = ✏️ Description
intake-buttons-edit_screenshots = ✏️ Screenshots
intake-buttons-edit_details = ✏️ Details
intake-buttons-remove_screenshots = 🗑 Remove screenshots
intake-buttons-remove_details = 🗑 Remove details
intake-buttons-cancel_yes = Yes, cancel
intake-buttons-cancel_no = No, go back
intake-buttons-continue = 📝 Continue the request

## intake.bad

intake-bad-not_text = Text is needed here, but this is a { $what }. Please write it as text.
intake-bad-empty = The message is empty. Please write some text.
intake-bad-too_long = Too long: { $length } { $length ->
        [one] character
       *[other] characters
    }, the limit is { $maximum }. Please shorten it — the previous version is kept.
intake-bad-too_short = Too short: { $length } { $length ->
        [one] character
       *[other] characters
    }, at least { $minimum } { $minimum ->
        [one] is
       *[other] are
    } needed. Please describe it in a little more detail.
intake-bad-choose_kind = First choose the kind of request with a button below — the text is needed at the next step.
intake-bad-use_buttons = The request is filled in. To change something, press the button of that field below.
intake-bad-screenshot_expected = Screenshots are needed here — photos or image files, but this is a { $what }. If you have none, press “Skip”.
intake-bad-not_image = This file is not an image. Please send the screenshot as a photo or as a PNG or JPEG file.
intake-bad-too_large = The file is over { $maximum } MB. Please send a smaller screenshot or send it as a photo.
intake-bad-too_many_pixels = The image is too large: over { $maximum } { $maximum ->
        [one] megapixel
       *[other] megapixels
    }. Please send an ordinary screenshot.
intake-bad-bomb = This image could not be opened safely: it claims an enormous size. Please send an ordinary screenshot.
intake-bad-too_many_screenshots = At most { $maximum } { $maximum ->
        [one] screenshot
       *[other] screenshots
    } can be attached — this one was not added. Press “Done” to continue.
intake-bad-duplicate_screenshot = This screenshot is already attached.
intake-bad-download_failed = Could not get the file from Telegram. Please send it again.
intake-bad-invalid = Please check this field.

## intake.content

intake-content-text = text
intake-content-sticker = sticker
intake-content-voice = voice message
intake-content-video_note = video message
intake-content-audio = audio
intake-content-video = video
intake-content-animation = GIF animation
intake-content-photo = photo
intake-content-document = file
intake-content-location = location
intake-content-venue = venue
intake-content-contact = contact
intake-content-poll = poll
intake-content-dice = dice
intake-content-other = message of this type

## dialogs

dialogs-stale_button = This button is from an old message. Here is where you left off.
dialogs-restarted = This button is out of date — the bot was updated. Let's start again:
dialogs-already_filed = This request has already been filed: { $number }. Its number and all news about it come to this chat.
