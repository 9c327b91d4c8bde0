### Managers' digests (backoffice/digest.py, backoffice/chart.py). Inserted values are escaped.

## digest.title

digest-title-daily = 📊 <b>Сводка за { $period }</b>
digest-title-weekly = 📊 <b>Сводка за неделю { $period }</b>
digest-title-today = 📊 <b>Сводка за сегодня, { $period }, до { $until }</b>
digest-title-range = 📊 <b>Сводка за { $period }</b>

## digest.summary

digest-summary-flow = 🆕 Новых: { $new } · ✅ решено: { $resolved } · 🔒 закрыто: { $closed } · ↩️ переоткрыто: { $reopened }
digest-summary-backlog = 📥 Открыто сейчас: { $backlog } (за период { $change })
digest-summary-sla = ⏱ SLA в срок: первый ответ { $first_met } из { $first_total }, решение { $resolution_met } из { $resolution_total } · под угрозой сейчас: { $at_risk }
digest-summary-rating = ⭐ Оценка: { $average } ({ $count })
digest-summary-no_rating = ⭐ Оценок нет

## digest.section

digest-section-new = <b>Новые заявки: { $total }</b>
digest-section-by_kind = По видам: { $values }
digest-section-by_priority = По приоритетам: { $values }
digest-section-by_channel = По каналам: { $values }
digest-section-by_status = По статусам: { $values }
digest-section-resolved = <b>Решено: { $resolved }</b> · переоткрыто: { $reopened }
digest-section-closed = <b>Закрыто: { $total }</b>
digest-section-closed_customer = подтверждено: { $confirmed } · закрылись сами: { $auto } · отозваны клиентом: { $withdrawn }
digest-section-closed_agent = закрыты сотрудником: дубликат { $duplicate } · спам { $spam } · другое { $other }
digest-section-backlog = <b>Открыто сейчас: { $total }</b> (изменение за период: { $change })
digest-section-sla = <b>SLA</b> (в срок / нарушено)
digest-section-sla_line = { $tariff }: первый ответ { $first_met } / { $first_breached } · решение { $resolution_met } / { $resolution_breached }
digest-section-sla_none = в этом периоде сроков не наступало
digest-section-at_risk = Под угрозой сейчас (прошло больше 80 % срока): { $count }
digest-section-times = <b>Время в часах поддержки</b> (медиана / 90 %)
digest-section-first_response = Первый ответ: { $median } / { $p90 }
digest-section-resolution = Решение: { $median } / { $p90 }
digest-section-rating = <b>Оценки:</b> { $average } из 5, всего { $count }
digest-section-no_rating = <b>Оценки:</b> нет
digest-section-agents = <b>Сотрудники</b> (взято · решено · первый ответ, медиана · переоткрыто после их решения)
digest-section-agent = { $name }: { $taken } · { $resolved } · { $first_response } · { $reopened }
digest-section-no_agents = никто не работал с заявками
digest-section-oldest = <b>Самые старые открытые</b>
digest-section-oldest_line = { $number } · { $priority } · { $status } · с { $since } · { $topic } · <code>/ticket { $plain }</code>
digest-section-none_open = открытых заявок нет

## digest.value

digest-value-none = —
digest-value-minutes = { $minutes } мин
digest-value-hours = { $hours } ч { $minutes } мин
digest-channel-telegram = бот
digest-channel-cabinet = кабинет

## digest.chart

digest-chart-title = Заявки за 14 дней
digest-chart-opened = Открыто
digest-chart-closed = Закрыто
digest-chart-backlog = В работе (на конец дня)

## digest.answer

digest-answer-bad_period = Не понял период. Можно так: /digest (сегодня), /digest day (вчера), /digest week (прошлая неделя) или /digest { $example }
digest-answer-empty = Пока нечего показать.

## digest.commands

digest-commands-digest = Сводка для руководителей: /digest, day, week или период
