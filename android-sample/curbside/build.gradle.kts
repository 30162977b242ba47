// The Android library apps depend on (`dev.curbside:curbside-android`): the generated Kotlin
// API, the hand-written Kotlin of bindings/kotlin, the Android parts (initialize once, the
// WorkManager worker, the network hint, string resources) and the core's native library for
// every ABI. Two tasks build what is never committed:
//  - cargoNdk: libcurbside_ffi.so for arm64-v8a, armeabi-v7a and x86_64, with the `mobile`
//    profile (built for size; see Cargo.toml) (needs the NDK and
//    `cargo install cargo-ndk`; nasm on the PATH for x86_64's libjpeg-turbo SIMD);
//  - generateCurbsideBindings: the Kotlin API from the host build of the same library, with
//    bindings/uniffi-android.toml's Android settings.
import org.gradle.api.tasks.Exec
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

val repoRoot = rootProject.projectDir.parentFile
val generatedKotlin = layout.buildDirectory.dir("generated/uniffi")
val jniLibsDir = layout.buildDirectory.dir("jniLibs")
// Cargo's output, wherever CARGO_TARGET_DIR puts it; the host library's name by platform.
val cargoTarget = File(System.getenv("CARGO_TARGET_DIR") ?: File(repoRoot, "target").path)
val hostLibrary = File(
    cargoTarget,
    "debug/" + if (System.getProperty("os.name").startsWith("Mac")) "libcurbside_ffi.dylib" else "libcurbside_ffi.so",
)

val cargoNdk by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine(
        "cargo", "ndk", "--platform", "26",
        "-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64",
        "-o", jniLibsDir.get().asFile.path,
        "build", "--profile", "mobile", "-p", "curbside-ffi",
    )
}

val generateCurbsideBindings by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine(
        "sh", "-c",
        "cargo build -p curbside-ffi -p uniffi-bindgen && " +
            "'${cargoTarget.path}/debug/uniffi-bindgen' generate --config bindings/uniffi-android.toml " +
            "--language kotlin --out-dir '${generatedKotlin.get().asFile.path}' '${hostLibrary.path}'",
    )
}

android {
    namespace = "dev.curbside.android"
    compileSdk = 35

    defaultConfig {
        // 26: the API takes and gives java.time (Instant, Duration) without desugaring.
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
    }

    sourceSets["main"].apply {
        java.srcDir(generatedKotlin)
        java.srcDir(File(repoRoot, "bindings/kotlin/src/main/kotlin"))
        java.srcDir("src/main/kotlin")
        jniLibs.srcDir(jniLibsDir)
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    compilerOptions { jvmTarget.set(JvmTarget.JVM_17) }
}

tasks.named("preBuild") { dependsOn(cargoNdk, generateCurbsideBindings) }

dependencies {
    api("net.java.dev.jna:jna:5.19.1@aar")
    api("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.11.0")
    implementation("androidx.annotation:annotation:1.9.1")
    implementation("androidx.work:work-runtime:2.10.0")
}
