### The agents' group (backoffice/). Values inserted into HTML are escaped by the renderer.

## backoffice

backoffice-time_format = %d.%m %H:%M
backoffice-topic_name = { $emoji } { $number } · { $topic }

## backoffice.status

backoffice-status-new = Новая
backoffice-status-in_progress = В работе
backoffice-status-waiting_customer = Ждёт клиента
backoffice-status-resolved = Решена
backoffice-status-closed = Закрыта

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

backoffice-kind-incident = Инцидент
backoffice-kind-problem = Проблема
backoffice-kind-service = Запрос на обслуживание
backoffice-kind-development = Запрос на развитие

## backoffice.close_reason

backoffice-close_reason-confirmed = клиент подтвердил решение
backoffice-close_reason-withdrawn = клиент отозвал заявку
backoffice-close_reason-auto = автоматически, клиент не ответил
backoffice-close_reason-duplicate = дубликат
backoffice-close_reason-spam = спам
backoffice-close_reason-other = другое

## backoffice.card

backoffice-card-title = { $emoji } <b>{ $number }</b> · { $kind } · { $priority }
backoffice-card-topic = <b>{ $topic }</b>
backoffice-card-customer = 👤 { $customer }
backoffice-card-no_name = без имени
backoffice-card-tariff = тариф «{ $tariff }»
backoffice-card-from_cabinet = 🖥 Из личного кабинета
backoffice-card-state = 📌 Статус: <b>{ $status }</b> · исполнитель: { $assignee }
backoffice-card-unassigned = не назначен
backoffice-card-first_response_due = ⏱ Первая реакция до { $at }
backoffice-card-first_responded = 💬 Первый ответ: { $at }
backoffice-card-resolution_due = 🎯 Решение до { $at }
backoffice-card-paused = ⏸ SLA на паузе: ждём клиента
backoffice-card-auto_close = ⏳ Автозакрытие: { $at }
backoffice-card-closed = 🔒 Закрыта { $at }: { $reason }
backoffice-card-reopened = ↩️ Переоткрывалась: { $count }
backoffice-card-rating = ⭐ Оценка клиента: { $stars }
backoffice-card-blocked = ⛔ Клиент заблокировал бота ({ $at }): ответы до него не дойдут
backoffice-card-description =
    <b>Описание</b>
    <blockquote expandable>{ $text }</blockquote>
backoffice-card-details =
    <b>Технические данные</b>
    <pre>{ $text }</pre>

## backoffice.button

backoffice-button-take = 🙋 Взять
backoffice-button-assign = 👥 Назначить…
backoffice-button-priority = ⚡ Приоритет…
backoffice-button-ask = ❓ Запросить информацию
backoffice-button-resolve = ✅ Решено
backoffice-button-close = 🔒 Закрыть…
backoffice-button-reopen = ↩️ Переоткрыть
backoffice-button-back = ← Назад
backoffice-button-current = • { $label }
backoffice-button-close_duplicate = Дубликат
backoffice-button-close_spam = Спам
backoffice-button-close_other = Другое…
backoffice-button-split = ➕ Новая заявка из сообщения
backoffice-button-previous = ← Назад
backoffice-button-next = Дальше →

## backoffice.relay

backoffice-relay-customer = 💬 <b>{ $name }</b>:
backoffice-relay-unsupported = Это не дойдёт до клиента: клиенту уходят только текст, фото и файлы.
backoffice-relay-note_saved = 📝 Внутренняя заметка сохранена — клиент её не увидит.
backoffice-relay-edit_not_sent = Правка не отправлена клиенту. { $reason }

## backoffice.event

backoffice-event-confirm = ✅ Клиент подтвердил решение.
backoffice-event-reopen = ↩️ Заявка переоткрыта.
backoffice-event-withdraw = 🚪 Клиент отозвал заявку.
backoffice-event-auto_close = ⏰ Заявка закрыта автоматически: клиент не ответил.
backoffice-event-other = ℹ️ { $action }
backoffice-event-comment = <blockquote>{ $comment }</blockquote>
backoffice-sla-first_response_at_risk = ⚠️ { $number }: до срока первого ответа ({ $due }) осталось меньше 20 %. Ответственный: { $assignee }.
backoffice-sla-first_response_breached = ⛔ { $number }: срок первого ответа ({ $due }) нарушен. Ответственный: { $assignee }.
backoffice-sla-resolution_at_risk = ⚠️ { $number }: до срока решения ({ $due }) осталось меньше 20 %. Ответственный: { $assignee }.
backoffice-sla-resolution_breached = ⛔ { $number }: срок решения ({ $due }) нарушен. Ответственный: { $assignee }.
backoffice-sla-nobody = не назначен — возьмите заявку

## backoffice.prompt

backoffice-prompt-ask =
    ❓ { $number } · { $topic }
    { $agent }, напишите вопрос клиенту ответом на это сообщение.
backoffice-prompt-resolve =
    ✅ { $number } · { $topic }
    { $agent }, напишите клиенту ответ с решением ответом на это сообщение.
backoffice-prompt-close_other =
    🔒 { $number } · { $topic }
    { $agent }, напишите причину закрытия ответом на это сообщение.
backoffice-prompt-reopen =
    ↩️ { $number } · { $topic }
    { $agent }, напишите причину, по которой заявка переоткрывается, ответом на это сообщение.
backoffice-prompt-placeholder = Текст…

## backoffice.answer

backoffice-answer-taken = Заявка ваша.
backoffice-answer-assigned = Исполнитель назначен.
backoffice-answer-priority_set = Приоритет изменён.
backoffice-answer-closed = Заявка закрыта.
backoffice-answer-resolved = Заявка решена, ждём подтверждения клиента.
backoffice-answer-reopened = Заявка снова в работе.
backoffice-answer-asked = Вопрос отправлен клиенту.
backoffice-answer-split = Создана заявка { $number }.
backoffice-answer-not_agent = Это могут делать только специалисты поддержки.
backoffice-answer-no_request = Не нашёл заявку для этого сообщения.
backoffice-answer-nothing_to_split = В сообщении нет текста для новой заявки.
backoffice-answer-usage_ticket = Укажите номер заявки: /ticket CTV-1042
backoffice-answer-usage_history = Укажите номер заявки: /history CTV-1042
backoffice-answer-usage_find = Что искать? /find CTV-1042, /find @username или /find текст
backoffice-answer-usage_split = Ответьте командой /split на сообщение клиента (или допишите текст новой заявки: /split текст).
backoffice-answer-usage_note = Напишите заметку после команды (/note текст) в теме заявки или ответом на её сообщение.
backoffice-answer-reply_into_note = Этот ответ клиент уже видел: заметкой его не сделать. Внутреннюю заметку напишите отдельным сообщением с «!» в начале или командой /note.
backoffice-answer-text_required = Нужен текст.
backoffice-answer-too_long = Слишком длинный текст: не больше { $maximum } { $maximum ->
        [one] символа
       *[many] символов
    }.

## backoffice.queue

backoffice-queue-title_all = 📋 <b>Открытые заявки</b>
backoffice-queue-title_mine = 🙋 <b>Мои заявки</b>
backoffice-queue-page = { $title } ({ $first }–{ $last })
backoffice-queue-empty = Открытых заявок нет.
backoffice-queue-line = { $priority } { $number } { $emoji } { $topic } · { $assignee } · до { $due }{ $overdue }
backoffice-queue-overdue = { " " }⚠️ просрочена

## backoffice.find

backoffice-find-title = 🔎 Найдено по «{ $query }»: { $count }
backoffice-find-none = 🔎 По «{ $query }» ничего не нашлось.

## backoffice.history

backoffice-history-title = 📜 <b>История { $number }</b> · { $topic }
backoffice-history-line = { $at } · { $who } · { $what }
backoffice-history-internal = 📝 { $line }
backoffice-history-comment = <blockquote>{ $comment }</blockquote>
backoffice-history-split_from = из { $number }

## backoffice.action

backoffice-action-create = создал(а) заявку
backoffice-action-take = взял(а) в работу
backoffice-action-assign = назначил(а) исполнителя
backoffice-action-set_priority = изменил(а) приоритет
backoffice-action-reply = ответил(а) клиенту
backoffice-action-note = оставил(а) внутреннюю заметку
backoffice-action-ask_customer = запросил(а) информацию у клиента
backoffice-action-customer_message = написал(а) в заявку
backoffice-action-resolve = решил(а) заявку
backoffice-action-confirm = подтвердил(а) решение
backoffice-action-reopen = переоткрыл(а) заявку
backoffice-action-withdraw = отозвал(а) заявку
backoffice-action-close = закрыл(а) заявку
backoffice-action-auto_close = закрыл(а) автоматически
backoffice-action-auto_close_reminder = напомнил(а) клиенту об автозакрытии
backoffice-action-split = вынес(ла) вопрос в новую заявку
backoffice-action-split_from = создал(а) из другой заявки
backoffice-action-rate = оценил(а) решение
backoffice-action-edit = исправил(а) сообщение
backoffice-action-customer_blocked = отметил(а): клиент заблокировал бота
backoffice-action-sla_warning = предупредил(а) о сроке SLA
backoffice-action-waiting_reminder = напомнил(а) клиенту о вопросе

## backoffice.stats

backoffice-stats-text =
    📊 <b>Сейчас открыто: { $total }</b>
    { $statuses }
    { $priorities }
    ⚠️ Просрочено: { $overdue } · без исполнителя: { $unassigned }

## backoffice.commands

backoffice-commands-queue = Открытые заявки по приоритету
backoffice-commands-mine = Мои открытые заявки
backoffice-commands-find = Найти: CTV-1042, @username или текст
backoffice-commands-ticket = Показать карточку заявки
backoffice-commands-history = История заявки
backoffice-commands-stats = Сводка: открытые, просроченные
backoffice-commands-note = Внутренняя заметка (клиент не увидит)
backoffice-commands-split = Новая заявка из сообщения клиента
backoffice-commands-version = Версия деска
backoffice-version = Версия деска: { $version }
