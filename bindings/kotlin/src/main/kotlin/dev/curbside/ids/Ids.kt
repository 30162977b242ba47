package dev.curbside.ids

import java.util.UUID

/**
 * A draft's id (a UUID made on the device); use it as `dev.curbside.types.DraftId`. Made from
 * text only when reading back an id the app stored: anything but a UUID is refused at once.
 */
@JvmInline
value class DraftId(val value: String) {
    init {
        require(isUuid(value)) { "not a draft id (expected a UUID)" }
    }

    override fun toString() = value
}

/**
 * A submitted report's id (a UUID made on the device); use it as `dev.curbside.types.ReportId`.
 * Anything but a UUID is refused at once.
 */
@JvmInline
value class ReportId(val value: String) {
    init {
        require(isUuid(value)) { "not a report id (expected a UUID)" }
    }

    override fun toString() = value
}

private fun isUuid(text: String) = runCatching { UUID.fromString(text.trim()) }.isSuccess && text.trim().length == 36
