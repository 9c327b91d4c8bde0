## status

status-new = 🆕 Новая
status-in_progress = 🛠 В работе
status-waiting_customer = ⏳ Ждёт вашего ответа
status-resolved = ✅ Решена, ждёт подтверждения
status-closed = 🔒 Закрыта

## kind

kind-incident = Инцидент
kind-problem = Проблема
kind-service = Запрос на обслуживание
kind-development = Запрос на развитие

## priority

priority-1 = P1 — критический
priority-2 = P2 — высокий
priority-3 = P3 — обычный
priority-4 = P4 — низкий

## notify

notify-registered =
    Заявка <b>{ $number }</b> зарегистрирована.
    Приоритет: { $priority }. Первый ответ ожидается до { $due } МСК.
notify-registered_outside_hours = Сейчас нерабочее время поддержки; работа над заявкой начнётся { $starts } МСК.
notify-taken = Заявку <b>{ $number }</b> взял(а) в работу { $agent }.
notify-taken_anonymous = Заявка <b>{ $number }</b> взята в работу.
notify-priority_changed = Приоритет заявки <b>{ $number }</b> изменён: { $old } → { $new }.
notify-info_requested =
    По заявке <b>{ $number }</b> нужна дополнительная информация:

    { $question }

    Ответьте следующим сообщением — оно будет добавлено к заявке.
notify-reply =
    💬 Ответ по заявке <b>{ $number }</b>:

    { $text }
notify-resolved =
    ✅ Заявка <b>{ $number }</b> решена.

    { $answer }

    Подтвердите, пожалуйста, что вопрос решён. Если не ответить, заявка закроется автоматически { $auto_close } МСК.
notify-resolved_no_answer =
    ✅ Заявка <b>{ $number }</b> решена.

    Подтвердите, пожалуйста, что вопрос решён. Если не ответить, заявка закроется автоматически { $auto_close } МСК.
notify-reopened = 🔄 Заявка <b>{ $number }</b> снова в работе. Причина: { $reason }
notify-auto_close_reminder =
    ⏰ Заявка <b>{ $number }</b> решена и ждёт вашего подтверждения.
    Если не ответить, она закроется автоматически { $auto_close } МСК.
notify-clean_copy = Так это изображение увидит поддержка: служебные данные файла и геопозиция удалены.
notify-waiting_reminder = 💬 По заявке <b>{ $number }</b> поддержка ждёт вашего ответа на свой вопрос. Ответьте на это сообщение, чтобы продолжить работу.
notify-rate_prompt = Оцените, пожалуйста, работу поддержки по этой заявке:

## notify.closed

notify-closed-confirmed = 🔒 Заявка <b>{ $number }</b> закрыта. Спасибо за подтверждение!
notify-closed-withdrawn = 🔒 Заявка <b>{ $number }</b> закрыта по вашей просьбе.
notify-closed-auto = 🔒 Заявка <b>{ $number }</b> закрыта автоматически: ответа не было { $days } { $days ->
        [one] рабочий день
        [few] рабочих дня
       *[many] рабочих дней
    }. Если вопрос остался, создайте новую заявку.
notify-closed-duplicate = 🔒 Заявка <b>{ $number }</b> закрыта как дубликат.
notify-closed-spam = 🔒 Заявка <b>{ $number }</b> закрыта.
notify-closed-other = 🔒 Заявка <b>{ $number }</b> закрыта.
notify-closed-comment = Комментарий: { $comment }

## buttons

buttons-solved = ✅ Решено
buttons-not_solved = ❌ Не решено
buttons-view = Открыть заявку
buttons-add_info = ➕ Дополнить
buttons-withdraw = 🗑 Отозвать
buttons-withdraw_confirm = Да, отозвать
buttons-stars = { $stars } ⭐
buttons-cancel = Отмена
buttons-back = ⬅️ Назад
buttons-more = Ещё ➡️
buttons-new_request = 📝 Новая заявка
buttons-reopen = 🔄 Вернуть в работу

## my

my-title = Ваши заявки:
my-empty = У вас пока нет заявок.
my-line = { $number } · { $status } · { $updated } · { $topic }
my-view =
    <b>{ $number }</b> · { $kind }
    Статус: { $status }
    Приоритет: { $priority }
    Тема: { $topic }
    Изменена: { $updated }
my-history_title = История:
my-history_line = { $time } — { $what }

## history

history-create = заявка создана
history-take = взята в работу
history-assign = назначен исполнитель
history-set_priority = изменён приоритет
history-reply = ответ поддержки: { $comment }
history-ask_customer = поддержка запросила информацию: { $comment }
history-customer_message = вы дополнили заявку: { $comment }
history-resolve = заявка решена
history-confirm = вы подтвердили решение
history-reopen = возвращена в работу: { $comment }
history-withdraw = вы отозвали заявку
history-close = заявка закрыта
history-auto_close = закрыта автоматически
history-auto_close_reminder = напоминание о закрытии
history-split = вопрос вынесен в новую заявку
history-rate = оценка поставлена
history-edit = сообщение исправлено
history-note = заметка
history-customer_blocked = клиент заблокировал бота
history-waiting_reminder = напоминание о вопросе поддержки
history-split_from = создана из другой заявки

## ask

ask-reason = Напишите, пожалуйста, почему вопрос не решён по заявке <b>{ $number }</b> — это обязательно, причина будет передана специалисту.
ask-info = Напишите, что добавить к заявке <b>{ $number }</b> (текст, фото или файл).
ask-withdraw = Отозвать заявку <b>{ $number }</b>? Её работа будет прекращена.
ask-which = К какой заявке добавить это сообщение?
ask-none_open = У вас нет открытых заявок. Создать новую?
ask-resolved_choice = Заявка <b>{ $number }</b> уже решена. Вернуть её в работу с этим сообщением как причиной, или создать новую заявку?
ask-need_text = Пожалуйста, напишите причину текстом.

## done

done-added = Добавлено к заявке <b>{ $number }</b>.
done-confirmed = Спасибо! Заявка закрыта.
done-reopened = Заявка возвращена в работу.
done-withdrawn = Заявка отозвана.
done-rated = Спасибо за оценку!
done-cancelled = Отменено.

## help

help-text =
    <b>Как работает поддержка Call to Visit</b>
    Одна заявка — одна проблема. Новые вопросы оформляйте новыми заявками.
    /new — новая заявка
    /my — мои заявки и их статус
    /lang — язык
    Поддержка работает ежедневно с { $start } до { $end } по московскому времени.

## lang

lang-choose = Выберите язык / Choose your language:
lang-set = Язык: русский.

## relay

relay-edit_not_sent = Правку не удалось передать поддержке: { $reason }
