### The intake dialog (dialogs/intake.py): a new request step by step.

## intake

intake-rule = ☝️ <b>Одна заявка — одна проблема.</b> Если вопросов несколько, подайте по заявке на каждый: так каждый решат быстрее.
intake-step_kind =
    <b>Новая заявка · шаг 1 из 5 · вид обращения</b>

    🧍 <b>Инцидент</b> — сбой у одного пользователя.
    🔥 <b>Проблема</b> — сервис остановился или сломался у всех, работа стоит.
    ❓ <b>Запрос на обслуживание</b> — нужна информация или консультация.
    💡 <b>Запрос на развитие</b> — предложение улучшить сервис.

    Выберите, что подходит лучше всего:
intake-step_topic =
    <b>Шаг 2 из 5 · тема</b>
    Коротко, о чём заявка — до { $maximum } { $maximum ->
            [one] символа
           *[many] символов
        }. Например: «Клиентам не приходят SMS-напоминания».
intake-step_description =
    <b>Шаг 3 из 5 · описание</b>
    Опишите, что происходит: что вы делали, что ожидали и что получилось вместо этого. От { $minimum } до { $maximum } { $maximum ->
            [one] символа
           *[many] символов
        }.
intake-step_screenshots =
    <b>Шаг 4 из 5 · скриншоты</b>
    Пришлите до { $maximum } { $maximum ->
            [one] скриншота
           *[many] скриншотов
        } — как фото или как файлы изображений, можно альбомом. Если скриншотов нет, нажмите «Пропустить».
intake-screenshots_count = Получено скриншотов: <b>{ $count } из { $maximum }</b>.
intake-clean_copy = Скриншот { $number } из { $maximum } — так его увидит поддержка: служебные данные файла и геопозиция удалены.
intake-step_details =
    <b>Шаг 5 из 5 · технические подробности</b>
    Необязательно: адрес страницы, браузер или версия приложения, номер записи, текст ошибки. Пришлите текстом или нажмите «Пропустить».
intake-current = Сейчас: <i>{ $value }</i>
intake-current_hint = Пришлите новый текст, чтобы заменить, или нажмите «Далее».
intake-summary = <b>Проверьте заявку</b>
intake-summary_kind = <b>Вид:</b> { $value }
intake-summary_topic = <b>Тема:</b> { $value }
intake-summary_description =
    <b>Описание:</b>
    { $value }
intake-summary_screenshots = <b>Скриншоты:</b> { $count }
intake-summary_details =
    <b>Технические подробности:</b>
    { $value }
intake-summary_no_details = <b>Технические подробности:</b> нет
intake-summary_footer = Всё верно — нажмите «Отправить». Исправить поле можно кнопками ниже.
intake-truncated = … (всего { $length } { $length ->
        [one] символ
        [few] символа
       *[many] символов
    }, поддержка получит текст целиком)
intake-sent = ✅ Заявка отправлена. Номер и срок первого ответа придут следующим сообщением.
intake-cancel_question = Отменить заявку? Всё введённое будет удалено.
intake-cancelled = Заявка отменена. Чтобы начать заново, отправьте /new.
intake-reminder = ⏰ Вы начали заявку «{ $topic }», но не отправили её. Черновик сохранён — продолжите, когда будет удобно.
intake-reminder_no_topic = ⏰ Вы начали новую заявку, но не отправили её. Черновик сохранён — продолжите, когда будет удобно.

## intake.kinds

intake-kinds-incident = Инцидент
intake-kinds-problem = Проблема
intake-kinds-service = Запрос на обслуживание
intake-kinds-development = Запрос на развитие

## intake.buttons

intake-buttons-incident = 🧍 Инцидент
intake-buttons-problem = 🔥 Проблема
intake-buttons-service = ❓ Запрос на обслуживание
intake-buttons-development = 💡 Запрос на развитие
intake-buttons-back = ◀️ Назад
intake-buttons-next = Далее ▶️
intake-buttons-skip = Пропустить ▶️
intake-buttons-done = Готово ▶️
intake-buttons-cancel = ✖️ Отменить
intake-buttons-submit = 📨 Отправить
intake-buttons-edit_kind = ✏️ Вид
intake-buttons-edit_topic = ✏️ Тема
intake-buttons-edit_description = ✏️ Описание
intake-buttons-edit_screenshots = ✏️ Скриншоты
intake-buttons-edit_details = ✏️ Подробности
intake-buttons-remove_screenshots = 🗑 Убрать скриншоты
intake-buttons-remove_details = 🗑 Убрать подробности
intake-buttons-cancel_yes = Да, отменить
intake-buttons-cancel_no = Нет, вернуться
intake-buttons-continue = 📝 Продолжить заявку

## intake.bad

intake-bad-not_text = Здесь нужен текст, а пришло: { $what }. Напишите, пожалуйста, текстом.
intake-bad-empty = Сообщение пустое. Напишите, пожалуйста, текст.
intake-bad-too_long = Слишком длинно: { $length } { $length ->
        [one] символ
        [few] символа
       *[many] символов
    }, а можно не больше { $maximum }. Сократите, пожалуйста, — предыдущий вариант сохранён.
intake-bad-too_short = Слишком коротко: { $length } { $length ->
        [one] символ
        [few] символа
       *[many] символов
    }, а нужно хотя бы { $minimum }. Опишите, пожалуйста, чуть подробнее.
intake-bad-choose_kind = Сначала выберите вид обращения кнопкой ниже — текст понадобится на следующем шаге.
intake-bad-use_buttons = Заявка заполнена. Чтобы что-то изменить, нажмите кнопку нужного поля ниже.
intake-bad-screenshot_expected = Здесь нужны скриншоты — фото или файлы изображений, а пришло: { $what }. Если скриншотов нет, нажмите «Пропустить».
intake-bad-not_image = Этот файл — не изображение. Пришлите скриншот как фото или как файл PNG или JPEG.
intake-bad-too_large = Файл больше { $maximum } МБ. Пришлите скриншот поменьше или как фото.
intake-bad-too_many_pixels = Изображение слишком большое: больше { $maximum } { $maximum ->
        [one] мегапикселя
       *[many] мегапикселей
    }. Пришлите обычный скриншот экрана.
intake-bad-bomb = Это изображение не удалось безопасно открыть: оно заявляет огромный размер. Пришлите обычный скриншот экрана.
intake-bad-too_many_screenshots = Можно приложить не больше { $maximum } { $maximum ->
        [one] скриншота
       *[many] скриншотов
    } — этот не добавлен. Нажмите «Готово», чтобы продолжить.
intake-bad-duplicate_screenshot = Этот скриншот уже добавлен.
intake-bad-download_failed = Не получилось получить файл от Telegram. Пришлите его, пожалуйста, ещё раз.
intake-bad-invalid = Проверьте, пожалуйста, это поле.

## intake.content

intake-content-text = текст
intake-content-sticker = стикер
intake-content-voice = голосовое сообщение
intake-content-video_note = видеосообщение
intake-content-audio = аудио
intake-content-video = видео
intake-content-animation = GIF-анимация
intake-content-photo = фото
intake-content-document = файл
intake-content-location = геопозиция
intake-content-venue = адрес места
intake-content-contact = контакт
intake-content-poll = опрос
intake-content-dice = кубик
intake-content-other = сообщение такого типа

## dialogs

dialogs-stale_button = Эта кнопка из старого сообщения. Показываю, где вы остановились.
dialogs-restarted = Эта кнопка устарела — бот обновлялся. Начнём с начала:
dialogs-already_filed = Эта заявка уже подана: { $number }. Номер и все новости по ней приходят в этот чат.
