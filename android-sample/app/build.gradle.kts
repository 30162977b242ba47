// The sample app a city starts from, over the Curbside library (:curbside): white-labelled by
// configuration, one flavour per city (below): its profile, its name, its key from
// gradle.properties or the CI's secrets (`cityApiKey` for Bikeville, `springfieldApiKey`).
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "dev.curbside.sample"
    compileSdk = 35

    defaultConfig {
        applicationId = "dev.curbside.sample"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = rootProject.extra["curbsideVersion"] as String
    }

    buildFeatures { buildConfig = true }

    // One app, a city per flavour: each has its profile (`src/<city>/assets/city.json`), its
    // name and any text it words its own way (`src/<city>/res`), its application id and its
    // key. Bikeville's files are the defaults in `src/main`. Add a city by adding a flavour and
    // its folder.
    flavorDimensions += "city"
    productFlavors {
        create("bikeville") {
            dimension = "city"
            applicationId = "dev.curbside.sample"
            buildConfigField("String", "CITY_API_KEY", "\"${project.findProperty("cityApiKey") ?: ""}\"")
        }
        create("springfield") {
            dimension = "city"
            applicationId = "dev.curbside.springfield"
            buildConfigField("String", "CITY_API_KEY", "\"${project.findProperty("springfieldApiKey") ?: ""}\"")
        }
    }

    // The core's library stays uncompressed and page-aligned in the APK (16 KB pages).
    packaging { jniLibs { useLegacyPackaging = false } }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    compilerOptions { jvmTarget.set(JvmTarget.JVM_17) }
}

dependencies {
    implementation(project(":curbside"))
    implementation("androidx.core:core:1.12.0")
    implementation("androidx.work:work-runtime:2.10.0")
}
