// The Android library apps depend on (`dev.curbside:curbside-android`): the generated Kotlin
// API, the hand-written Kotlin of bindings/kotlin, the Android parts (initialize once, the
// WorkManager worker, the network hint, string resources) and the core's native library for
// each ABI asked for. Two tasks build what is never committed:
//  - cargoNdk: libcurbside_ffi.so per ABI (`-Pcurbside.abis=arm64-v8a,x86_64`; all three by
//    default), with the `mobile` profile (built for size; see Cargo.toml), linked for 16 KB
//    pages (Play requires it for targetSdk 35). Needs the pinned NDK (`ndkVersion`),
//    `cargo install cargo-ndk`, and nasm on the PATH for libjpeg-turbo's SIMD. Its inputs are
//    the Rust sources and manifests, its outputs the libraries: Gradle skips it when nothing
//    changed;
//  - generateCurbsideBindings: the Kotlin API from the host build of the same library, with
//    bindings/uniffi-android.toml's Android settings.
// `./gradlew :curbside:publishReleasePublicationToLocalRepository` writes the AAR and its POM
// to build/repo; the version is the Rust workspace's (one version for the core and the AAR).
import org.gradle.api.tasks.Exec
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
    `maven-publish`
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

// The ABIs to build: all three by default; `-Pcurbside.abis=arm64-v8a` for a quick device build.
val abis = (findProperty("curbside.abis") as String? ?: "arm64-v8a,armeabi-v7a,x86_64")
    .split(",").map { it.trim() }.filter { it.isNotEmpty() }

val cargoNdk by tasks.registering(Exec::class) {
    workingDir = repoRoot
    inputs.property("abis", abis)
    inputs.files(fileTree(File(repoRoot, "core")) { include("**/*.rs", "**/Cargo.toml") })
    inputs.files(fileTree(File(repoRoot, "bindings/src")) { include("**/*.rs") })
    inputs.files(File(repoRoot, "Cargo.toml"), File(repoRoot, "Cargo.lock"), File(repoRoot, "bindings/Cargo.toml"))
    outputs.dir(jniLibsDir)
    // 16 KB pages: every LOAD segment aligned so the library maps on 16 KB-page devices.
    environment("RUSTFLAGS", "-C link-arg=-Wl,-z,max-page-size=16384")
    commandLine(
        listOf("cargo", "ndk", "--platform", "26") +
            abis.flatMap { listOf("-t", it) } +
            listOf("-o", jniLibsDir.get().asFile.path, "build", "--profile", "mobile", "-p", "curbside-ffi"),
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
    // The NDK cargo-ndk links with: pinned, so every machine builds the same library.
    ndkVersion = "27.2.12479018"

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

    publishing {
        singleVariant("release") { withSourcesJar() }
    }
}

kotlin {
    compilerOptions { jvmTarget.set(JvmTarget.JVM_17) }
}

tasks.named("preBuild") { dependsOn(cargoNdk, generateCurbsideBindings) }

group = "dev.curbside"
version = rootProject.extra["curbsideVersion"] as String

publishing {
    publications {
        register<MavenPublication>("release") {
            artifactId = "curbside-android"
            afterEvaluate { from(components["release"]) }
            pom {
                name.set("Curbside for Android")
                description.set("Offline-first Open311 reporting: drafts, photos, an outbox that never loses a report.")
                licenses { license { name.set("MPL-2.0") } }
            }
        }
    }
    repositories {
        maven { name = "local"; url = uri(layout.buildDirectory.dir("repo")) }
    }
}

dependencies {
    api("net.java.dev.jna:jna:5.19.1@aar")
    api("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.11.0")
    implementation("androidx.annotation:annotation:1.9.1")
    implementation("androidx.work:work-runtime:2.10.0")
}
