package cn.xuncha.app.ui

import android.content.Context
import android.graphics.Color
import android.view.View
import android.widget.Button
import android.widget.LinearLayout
import android.widget.TextView

/** Small builders so screens stay short: a vertical column, a row, a text, a button. */
fun Context.column(vararg children: View) = LinearLayout(this).apply {
    orientation = LinearLayout.VERTICAL
    setPadding(24, 24, 24, 24)
    children.forEach { addView(it) }
}

fun Context.row(vararg children: View) = LinearLayout(this).apply {
    orientation = LinearLayout.HORIZONTAL
    children.forEach { addView(it) }
}

fun Context.text(s: CharSequence = "", size: Float = 16f, color: Int = Color.BLACK) = TextView(this).apply {
    text = s
    textSize = size
    setTextColor(color)
}

fun Context.button(label: CharSequence, onClick: () -> Unit) = Button(this).apply {
    text = label
    setOnClickListener { onClick() }
}
