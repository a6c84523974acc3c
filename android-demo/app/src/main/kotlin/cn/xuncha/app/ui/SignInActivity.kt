package cn.xuncha.app.ui

import android.app.Activity
import android.content.Intent
import android.graphics.Color
import android.os.Build
import android.os.Bundle
import android.text.InputType
import android.widget.EditText
import cn.xuncha.app.R
import cn.xuncha.app.core.SessionViewModel

/** Sign in (and the server address: the settings a field worker ever needs). */
class SignInActivity : Activity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val vm = SessionViewModel(app.client, app.lang)
        val server = EditText(this).apply {
            hint = getString(R.string.server_url)
            setText(vm.state.value.serverUrl ?: "http://10.0.2.2:8080")
        }
        val user = EditText(this).apply { hint = getString(R.string.user) }
        val password = EditText(this).apply {
            hint = getString(R.string.password)
            inputType = InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_VARIATION_PASSWORD
        }
        val message = text(color = Color.RED)
        val go = button(getString(R.string.sign_in)) {}
        go.setOnClickListener {
            go.isEnabled = false
            val (url, u, p) = Triple(server.text.toString(), user.text.toString(), password.text.toString())
            app.dispatch.background {
                val ok = vm.signIn(url, u, p, Build.MODEL ?: "Android")
                app.dispatch.main {
                    go.isEnabled = true
                    if (ok) {
                        app.sync.syncNow()
                        startActivity(Intent(this, CasesActivity::class.java))
                        finish()
                    } else {
                        message.text = vm.state.value.problem?.message
                    }
                }
            }
        }
        setContentView(column(server, user, password, go, message))
    }
}
