import org.gradle.api.tasks.Exec

plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

// The Rust workspace is the parent of this project.
val workspace = rootProject.projectDir.parentFile
val abis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")
val rustLibs = layout.buildDirectory.dir("rust/jniLibs")
val bindings = layout.buildDirectory.dir("generated/uniffi")

android {
    namespace = "cn.xuncha.app"
    compileSdk = 35

    defaultConfig {
        applicationId = "cn.xuncha.app"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        ndk { abiFilters += abis }
    }

    buildTypes {
        release {
            isMinifyEnabled = false
        }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }

    sourceSets["main"].apply {
        java.srcDirs("src/main/kotlin", bindings)
        jniLibs.srcDir(rustLibs)
    }
    // The JVM host tests (src/test/kotlin) run on a desktop JVM with the host library through
    // ../run-host-tests.sh, not through Gradle.
    sourceSets["test"].java.setSrcDirs(emptyList<String>())
}

// libxuncha_ffi.so for every ABI, with cargo-ndk (`cargo install cargo-ndk`; ANDROID_NDK_HOME set).
val cargoNdk by tasks.registering(Exec::class) {
    workingDir = workspace
    val args = mutableListOf("cargo", "ndk")
    abis.forEach { args += listOf("-t", it) }
    args += listOf("-o", rustLibs.get().asFile.path, "build", "--release", "--locked", "-p", "xuncha-ffi", "--lib")
    commandLine(args)
}

// Kotlin bindings generated from the built library (never committed).
val uniffiBindings by tasks.registering(Exec::class) {
    dependsOn(cargoNdk)
    workingDir = workspace
    commandLine(
        "cargo", "run", "--locked", "-p", "xuncha-ffi", "--features", "cli", "--bin", "uniffi-bindgen", "--",
        "generate", "--language", "kotlin", "--out-dir", bindings.get().asFile.path,
        rustLibs.get().file("arm64-v8a/libxuncha_ffi.so").asFile.path,
    )
}

tasks.named("preBuild") { dependsOn(uniffiBindings) }

dependencies {
    // uniffi's Kotlin bindings call the library through JNA.
    implementation("net.java.dev.jna:jna:5.14.0@aar")
    implementation("androidx.core:core-ktx:1.13.1")
    implementation("androidx.swiperefreshlayout:swiperefreshlayout:1.1.0")
}
