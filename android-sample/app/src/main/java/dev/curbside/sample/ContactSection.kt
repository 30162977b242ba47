package dev.curbside.sample

import android.content.Context
import android.text.InputType
import android.view.View
import android.widget.CheckBox
import android.widget.EditText
import android.widget.LinearLayout
import dev.curbside.CityProfile
import dev.curbside.types.Contact

/**
 * The reporter's contact details in the form: as the city asks for them (its required fields
 * make "without my details" unavailable; its `anonymous_by_default` sets that choice), and
 * remembered on this phone only when the citizen ticks "remember" (kept in the app's private
 * preferences until unticked; the core forgets a sent report's details).
 */
class ContactSection(private val context: Context) {
    private fun field(name: String, hint: Int, type: Int) = EditText(context).apply {
        tag = "contact:$name"
        this.hint = context.getString(hint)
        inputType = type
    }

    private val firstName = field("first_name", R.string.first_name, InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_VARIATION_PERSON_NAME)
    private val lastName = field("last_name", R.string.last_name, InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_VARIATION_PERSON_NAME)
    private val email = field("email", R.string.email, InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_VARIATION_EMAIL_ADDRESS)
    private val phone = field("phone", R.string.phone, InputType.TYPE_CLASS_PHONE)
    private val anonymous = CheckBox(context).apply { tag = "anonymous"; text = context.getString(R.string.anonymous) }
    private val remember = CheckBox(context).apply { tag = "remember"; text = context.getString(R.string.remember_me) }
    private val fields = listOf(firstName, lastName, email, phone)
    private val remembered get() = context.getSharedPreferences("contact", Context.MODE_PRIVATE)

    /** The section's views, in reading order. */
    val view: View = LinearLayout(context).apply {
        orientation = LinearLayout.VERTICAL
        addView(context.label("contact", context.getString(R.string.contact_header)))
        addView(anonymous)
        fields.forEach { addView(it) }
        addView(remember)
        anonymous.setOnCheckedChangeListener { _, on -> fields.forEach { it.isEnabled = !on } }
    }

    /** Shows the draft's details, else the remembered ones, with the city's rules. */
    fun show(saved: Contact, city: CityProfile?) {
        val kept = remembered
        val contact = saved.takeUnless { it == Contact() } ?: Contact(
            kept.getString("first_name", null), kept.getString("last_name", null),
            kept.getString("email", null), kept.getString("phone", null),
        )
        firstName.setText(contact.firstName.orEmpty())
        lastName.setText(contact.lastName.orEmpty())
        email.setText(contact.email.orEmpty())
        phone.setText(contact.phone.orEmpty())
        remember.isChecked = kept.all.isNotEmpty()
        val required = city?.requiredContact.orEmpty().isNotEmpty()
        anonymous.visibility = if (required) View.GONE else View.VISIBLE
        anonymous.isChecked = !required && contact == Contact() && city?.anonymousByDefault != false
    }

    /** The details as the form has them now (none when sent without them). */
    fun contact(): Contact = if (anonymous.isChecked) Contact() else Contact(
        firstName.value(), lastName.value(), email.value(), phone.value(),
    )

    /** After a submit: remembered if asked, forgotten otherwise. */
    fun rememberOrForget() {
        val contact = contact()
        remembered.edit().apply {
            clear()
            if (remember.isChecked && contact != Contact()) {
                putString("first_name", contact.firstName)
                putString("last_name", contact.lastName)
                putString("email", contact.email)
                putString("phone", contact.phone)
            }
        }.apply()
    }

    private fun EditText.value() = text.toString().trim().takeIf { it.isNotEmpty() }
}
