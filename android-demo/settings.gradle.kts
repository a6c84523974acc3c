// Xuncha's Android app. Build on a machine with the Android SDK + NDK, Rust and cargo-ndk:
// see README.md beside this file.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "xuncha-android"
include(":app")
