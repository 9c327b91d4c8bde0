## start

start-greeting =
    Здравствуйте, { $name }! Это служба поддержки <b>Call to Visit</b>.
    Здесь можно подать заявку и следить за её статусом; специалисты работают ежедневно с { $start } до { $end } по московскому времени.
start-new_request = 📝 Новая заявка
start-my_requests = 📋 Мои заявки
start-link_not_found = Заявка по этой ссылке не найдена.
start-link_invalid = Ссылка из личного кабинета недействительна или устарела. Получите новую в кабинете — а пока можно пользоваться ботом как обычно.
start-linked = Готово: вы привязаны к организации «{ $organisation }». Заявки будут обслуживаться по её тарифу.
start-linked_request = Готово: этот чат привязан к вашему личному кабинету. Ответы по заявке { $number } и новые сообщения поддержки будут приходить сюда.

## commands

commands-new = Новая заявка
commands-my = Мои заявки
commands-lang = Язык / Language
commands-help = Помощь

## errors

errors-generic = Что-то пошло не так. Попробуйте ещё раз чуть позже — введённое не потеряно.
errors-not_found = Заявка не найдена.
errors-permission_denied = Это действие вам недоступно.
errors-managers_only = Сводки — для руководителей и администраторов службы поддержки.
errors-illegal_transition = Сейчас это действие недоступно для заявки.
errors-already_closed = Эта заявка уже закрыта.
errors-already_rated = Спасибо, вы уже оценили эту заявку.
errors-already_taken = Заявку уже взял(а) { $assignee }.
errors-concurrent_change = Заявку только что изменили. Обновите карточку и повторите.
errors-validation_failed = Проверьте введённые данные.

## leftover

leftover-command = Такой команды нет. Что я умею — /help; новая заявка — /new, ваши заявки — /my.
leftover-staff_command = Эта команда работает в группе поддержки. Здесь — команды клиента: /help.
leftover-unsupported = Я принимаю текст, фотографии и файлы. Опишите, пожалуйста, вопрос словами или пришлите скриншот — /new начнёт новую заявку.
leftover-button = Эта кнопка больше не действует.
