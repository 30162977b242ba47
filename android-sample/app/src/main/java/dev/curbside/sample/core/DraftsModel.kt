package dev.curbside.sample.core

import dev.curbside.ApiException
import dev.curbside.Drafts
import dev.curbside.types.Draft
import dev.curbside.types.DraftEdit
import dev.curbside.types.DraftId
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * The drafts screen's state, free of Android classes so it is unit-tested on the JVM.
 *
 * Every change goes to Curbside first and the list is then re-read from it: the database is
 * the truth, the UI only shows it.
 */
class DraftsModel(private val drafts: Drafts) {
    /** What the drafts screen shows. */
    data class State(
        val drafts: List<Draft> = emptyList(),
        /** A message to show next to [fieldInError], or as a banner when that is null. */
        val error: String? = null,
        val fieldInError: String? = null,
    )

    private val _state = MutableStateFlow(State())

    /** The current state; collect it from the UI. */
    val state: StateFlow<State> = _state.asStateFlow()

    /** Re-reads the drafts from Curbside. */
    suspend fun refresh() = attempt { }

    /** Saves the user's edits as a new draft (`id == null`) or on an existing one. */
    suspend fun save(id: DraftId?, edits: List<DraftEdit>) = attempt {
        if (id == null) drafts.create(edits) else drafts.edit(id, edits)
    }

    /** Deletes a draft. */
    suspend fun delete(id: DraftId) = attempt { drafts.delete(id) }

    private suspend fun attempt(change: suspend () -> Unit) {
        val failure = try {
            change()
            null
        } catch (e: ApiException) {
            e
        }
        val list = try { drafts.list() } catch (e: ApiException) { _state.value.drafts }
        _state.value = when (failure) {
            null -> State(list)
            is ApiException.InvalidInput -> State(list, failure.reason, failure.field)
            is ApiException.NotFound -> State(list, "This draft no longer exists.")
            else -> State(list, failure.message)
        }
    }
}
